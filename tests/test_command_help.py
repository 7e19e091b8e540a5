"""Every management command the project defines answers `--help` (five once crashed on a lazily translated help).

The commands are found as Django finds them, in the project's own apps: a new one is covered without
being listed here.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import ManagementUtility, get_commands

ROOT = Path(__file__).resolve().parent.parent


def project_commands() -> list[str]:
    ours = {config.name for config in apps.get_app_configs() if Path(config.path).parent == ROOT}
    return sorted(name for name, app in get_commands().items() if app in ours)


def test_the_project_commands_are_found():
    assert {"ingest_abuse", "reconcile_egress", "seed_demo", "probe_relay"} <= set(project_commands())


@pytest.mark.parametrize("name", project_commands())
def test_the_command_answers_help(name, monkeypatch):
    out = StringIO()
    monkeypatch.setattr("sys.stdout", out)
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", name, "--help"]).execute()
    assert exit_.value.code == 0
    usage, _blank, description = out.getvalue().partition("\n\n")
    assert usage.startswith(f"usage: manage.py {name}")
    assert description.strip() and "--help" in description
