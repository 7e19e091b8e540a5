"""A revocation ended by a reviewer or a superuser is not said to be the abuse desk's doing."""

from django.core import mail
from django.urls import reverse

from abuse.models import RevocationState
from abuse.revocations import reinstate, require_new_request
from tests.egress_support import eager_tasks
from tests.test_abuse_reinstatement import revocation_number


def test_a_reinstatement_by_a_reviewer_does_not_name_the_abuse_desk(client, settings, account, reviewer, admin_user):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_REINSTATEMENT = ["abuse_desk", "reviewer", "superuser"]
    revocation = reinstate(revocation_number(account, 1, admin_user), reviewer, "Relay closed.")
    assert revocation.state == RevocationState.REINSTATED

    client.force_login(admin_user)
    for url in (
        reverse("admin:abuse_revocation_changelist"),
        reverse("admin:abuse_revocation_change", args=[revocation.pk]),
    ):
        body = client.get(url).content.decode()
        assert "Reinstated by staff" in body and "by the abuse desk" not in body


def test_a_new_request_required_by_a_superuser_is_asked_by_us(
    customer_client, settings, account, admin_user, django_capture_on_commit_callbacks
):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    revoked = revocation_number(account, 1, admin_user)
    mail.outbox.clear()
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        revocation = require_new_request(revoked, admin_user, "Say what changed.")
    assert revocation.state == RevocationState.NEW_REQUEST
    page = customer_client.get(reverse("abuse_revocation")).content.decode()
    assert "We ask you to file a new request" in page and "abuse desk asks" not in page
    (sent,) = mail.outbox
    assert "We ask that the request explain" in sent.body and "abuse desk" not in sent.body
