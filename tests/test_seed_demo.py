"""The demo data commands give a newcomer working log-ins, and refuse to run in production."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.management.commands.seed_demo import CUSTOMER_EMAIL, DEMO_PASSWORD, REVIEWER_EMAIL
from accounts.models import User
from accounts.selectors import active_addresses


def test_demo_users_can_sign_in_and_rerunning_changes_nothing(client, db, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert CUSTOMER_EMAIL in out and DEMO_PASSWORD in out
    assert User.objects.filter(email__in=[CUSTOMER_EMAIL, REVIEWER_EMAIL]).count() == 2
    response = client.post(reverse("login"), {"username": CUSTOMER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    customer = User.objects.get(email=CUSTOMER_EMAIL)
    assert active_addresses(customer.membership.account)
    reviewer = User.objects.get(email=REVIEWER_EMAIL)
    assert reviewer.is_staff and not reviewer.is_superuser
    assert reviewer.has_perm("requests_app.view_unblockrequest")
    assert not reviewer.has_perm("requests_app.delete_unblockrequest")


@pytest.mark.parametrize("command", ["seed_demo", "seed_demo_abuse", "seed_demo_requests"])
def test_refused_when_debug_is_off(db, settings, command):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="published password; use --force outside DEBUG"):
        call_command(command)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("allowed", "offered", "note"),
    [
        ([], False, "which the checks refuse, so the\n  request form does not offer them"),
        (["203.0.113.0/24", "2001:db8::/32"], True, "the request form offers them and the checks try them"),
    ],
)
def test_the_demo_says_whether_its_server_can_be_picked(client, db, settings, capsys, allowed, offered, note):
    """scripts/run allows the demo's documentation addresses; elsewhere the demo says they are refused."""
    settings.DEBUG, settings.PORTAL_CHECK_ALLOW_NETWORKS = True, allowed
    call_command("seed_demo")
    assert note in capsys.readouterr().out
    client.force_login(User.objects.get(email=CUSTOMER_EMAIL))
    page = client.get(reverse("request_new")).content.decode()
    assert ('<option value="203.0.113.10">' in page) is offered
    assert ('data-testid="no-servers"' in page) is not offered
