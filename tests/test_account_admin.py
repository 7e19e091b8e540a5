"""Staff record identity and payment verification in the admin; who and when are kept."""

from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.staff_groups import SUPPORT_REVIEWER, ensure_staff_groups


def test_verification_action_records_who_and_when(client, account, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_account_changelist"),
        {"action": "mark_identity_verified", "_selected_action": [account.pk]},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.identity_verified_by == admin_user
    assert account.identity_verified_at is not None
    assert account.payment_verified_at is None


def test_verification_fields_cannot_be_typed_in(client, account, admin_user):
    client.force_login(admin_user)
    form = client.get(reverse("admin:accounts_account_change", args=[account.pk])).context["adminform"].form
    assert "identity_verified_at" not in form.fields
    assert "identity_verified_by" not in form.fields


def test_reviewer_without_change_permission_cannot_verify(client, account, django_user_model):
    ensure_staff_groups()
    viewer = django_user_model.objects.create_user("viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_account"))
    client.force_login(viewer)
    client.post(
        reverse("admin:accounts_account_changelist"),
        {"action": "mark_identity_verified", "_selected_action": [account.pk]},
    )
    account.refresh_from_db()
    assert account.identity_verified_at is None
    assert Group.objects.filter(name=SUPPORT_REVIEWER).exists()
