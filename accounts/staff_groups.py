"""The staff roles, as Django groups with the permissions each role needs."""

from django.contrib.auth.models import Group, Permission

SUPPORT_REVIEWER = "Support reviewer"
ABUSE_DESK = "Abuse desk"
# Records identity and payment verification by hand, where the platform does not report it
# (PUT /api/v1/platform/accounts/<id>/verifications/<kind>/). Reviewers do not hold it: the one who
# approves must not be the one who certified the account.
VERIFICATION_OFFICER = "Verification officer"
RECORD_VERIFICATION_PERMISSION = "accounts.record_verification_account"
# What a support reviewer may do that others may not: review unblock requests (take, ask, approve,
# reject). Lifting a hold on port 25 at the reviewer level also asks for it (egress.reopening).
REVIEW_PERMISSION = "requests_app.review_unblockrequest"
# Who may lift a hold on port 25 at all, short of a superuser (egress.reopening): both roles hold it.
REOPEN_PERMISSION = "abuse.reinstate_revocation"

# (app_label, model) -> actions; models of apps that are not installed yet are skipped.
_ROLE_PERMISSIONS: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {
    SUPPORT_REVIEWER: {
        ("requests_app", "unblockrequest"): ("view", "review"),
        ("requests_app", "requestevent"): ("view",),
        ("requests_app", "reasontemplate"): ("view", "add", "change"),
        ("accounts", "account"): ("view", "change"),
        ("accounts", "server"): ("view",),
        ("accounts", "serveraddress"): ("view",),
        ("egress", "accountegress"): ("view",),
        # The second revocation of an account needs a reviewer to reinstate it (PORTAL_ABUSE_REINSTATEMENT).
        ("abuse", "revocation"): ("view", "reinstate"),
        ("abuse", "abusereport"): ("view",),
        ("abuse", "policydecision"): ("view",),
        ("abuse", "abuseevent"): ("view",),
        ("verification", "recheckfinding"): ("view",),
    },
    VERIFICATION_OFFICER: {
        ("accounts", "account"): ("view", "record_verification"),
    },
    ABUSE_DESK: {
        ("accounts", "account"): ("view",),
        ("accounts", "server"): ("view",),
        ("accounts", "serveraddress"): ("view",),
        ("requests_app", "unblockrequest"): ("view",),
        ("egress", "accountegress"): ("view", "decide"),
        ("egress", "egresschange"): ("view",),
        ("abuse", "reporter"): ("view", "add", "change"),
        ("abuse", "reportertoken"): ("view", "add", "change"),
        ("abuse", "abusereport"): ("view", "add", "change"),
        ("abuse", "rejectedreport"): ("view",),
        ("abuse", "policydecision"): ("view", "acknowledge"),
        ("abuse", "revocation"): ("view", "reinstate"),
        ("abuse", "abuseevent"): ("view",),
        ("verification", "recheckfinding"): ("view",),
        ("verification", "zonestatus"): ("view",),
    },
}


def ensure_staff_groups() -> list[Group]:
    """Create or update the role groups so they hold exactly their permissions. Idempotent."""
    groups = []
    for name, grants in _ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [
            (app_label, f"{action}_{model}") for (app_label, model), actions in grants.items() for action in actions
        ]
        permissions = [
            perm
            for app_label, codename in codenames
            for perm in Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        ]
        group.permissions.set(permissions)
        groups.append(group)
    return groups
