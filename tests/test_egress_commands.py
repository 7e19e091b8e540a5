"""`reconcile_egress`, `egress_status` and the configuration check of the targets."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from egress.checks import check_targets
from egress.models import EgressSource, EgressState, SimulatedAllowance
from egress.services import set_desired_state
from tests.conftest import CUSTOMER_IPS, OTHER_IPS
from tests.egress_support import API_TOKEN, FakeNetworkAPI


@pytest.fixture(autouse=True)
def _targets(settings):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_reconcile_egress_repairs_and_reports_as_json(account):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    SimulatedAllowance.objects.create(target="edge", ip=OTHER_IPS[0])

    report = json.loads(run("reconcile_egress", "--json"))

    assert report == {
        "targets": [
            {
                "target": "edge",
                "added": sorted(CUSTOMER_IPS),
                "removed": OTHER_IPS,
                "settled_changes": 1,
                "error": "",
            }
        ]
    }
    assert "edge: 0 allowed, 0 removed, 0 pending change(s) settled" in run("reconcile_egress")


def test_reconcile_egress_fails_loudly_for_a_target_it_cannot_reach(settings, db):
    api = FakeNetworkAPI().start()
    try:
        settings.PORTAL_EGRESS_TARGETS = {
            "edge": {"backend": "simulated"},
            "api": {"backend": "http", "url": api.url, "token": API_TOKEN},
        }
        api.fail(502)
        out = StringIO()
        with pytest.raises(CommandError, match="api"):
            call_command("reconcile_egress", stdout=out)
        assert "edge: 0 allowed" in out.getvalue()
        assert "api: failed" in out.getvalue()
    finally:
        api.stop()


def test_reconcile_egress_refuses_an_unknown_target(db):
    with pytest.raises(CommandError, match="nowhere"):
        run("reconcile_egress", "--target", "nowhere")


def test_egress_status_shows_desired_actual_and_owed_changes(account):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="Checked.")
    SimulatedAllowance.objects.create(target="edge", ip=CUSTOMER_IPS[0])

    report = json.loads(run("egress_status", str(account.reference), "--json"))

    assert report["desired"]["state"] == "allowed"
    assert report["desired"]["source"] == "staff"
    assert report["targets"] == [
        {
            "target": "edge",
            "error": "",
            "addresses": {CUSTOMER_IPS[0]: "allowed", CUSTOMER_IPS[1]: "blocked"},
            "in_sync": False,
        }
    ]
    (owed,) = report["open_changes"]
    assert (owed["target"], owed["status"], owed["attempts"]) == ("edge", "pending", 0)

    text = run("egress_status", account.name)
    assert "Desired: allowed (source: staff" in text
    assert "Target edge: DRIFT" in text
    assert f"{CUSTOMER_IPS[1]}: blocked" in text


def test_egress_status_of_a_never_decided_account(account):
    report = json.loads(run("egress_status", str(account.pk), "--json"))
    assert report["desired"] == {"state": "blocked", "source": "default", "reason": "", "changed_at": None}
    assert report["targets"][0]["in_sync"]


def test_egress_status_of_an_unknown_account(db):
    with pytest.raises(CommandError, match="No account"):
        run("egress_status", "nobody")


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"x": {"backend": "iptables"}}, "unknown backend"),
        ({"x": {"backend": "nftables", "hook": "input"}}, "hook"),
        ({"x": {"backend": "nftables", "table": "bad name;"}}, "Not a valid"),
        ({"x": {"backend": "http", "url": "ftp://example.net"}}, "http"),
        ({"x": {"backend": "simulated", "colour": "red"}}, "colour"),
        ({}, "no target"),
    ],
)
def test_a_mistyped_target_is_reported_by_the_system_check(settings, targets, message):
    settings.PORTAL_EGRESS_TARGETS = targets
    errors = check_targets(None)
    assert len(errors) == 1
    assert message in errors[0].msg
