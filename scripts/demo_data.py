"""The demo's database: `migrate`, then the demo data (seed_demo, seed_demo_abuse, seed_demo_requests),
in one process, as scripts/run and scripts/readme_screenshots.py need it.

    .venv/bin/python scripts/demo_data.py      # = manage.py migrate --noinput, then the three seed commands

One process rather than one `python manage.py` each: every one of them starts Django anew, seconds
apiece on a small machine.
"""

import os
import sys
from pathlib import Path
from typing import Any

# In the order they build on each other: seed_demo_requests asks seed_demo's reviewer to decide.
DEMO_COMMANDS = ("seed_demo", "seed_demo_abuse", "seed_demo_requests")


def migrate_and_seed(**options: Any) -> None:
    """Django must be set up; `options` (verbosity, stdout) go to every command."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, **options)
    for command in DEMO_COMMANDS:
        call_command(command, **options)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    migrate_and_seed()
