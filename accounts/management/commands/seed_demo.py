"""Demo data so a newcomer can sign in at once as a customer and as a reviewer."""

from django.db import transaction

from accounts import two_factor
from accounts.models import Account, Membership, User
from accounts.public_ip import is_public_ip
from accounts.services import record_server, register_customer
from accounts.staff_groups import SUPPORT_REVIEWER, ensure_staff_groups
from common.demo_command import DemoDataCommand

CUSTOMER_EMAIL = "customer@demo.test"
REVIEWER_EMAIL = "reviewer@demo.test"
ADMIN_EMAIL = "admin@demo.test"
DEMO_PASSWORD = "port25-demo-password"  # noqa: S105 - printed on purpose, refused outside DEBUG
# The demo staff's authenticator key (base32), printed too: add it to an app, or compute a code with
# `oathtool --totp -b KEY`. Refused outside DEBUG like the password.
DEMO_TOTP_SECRET = "PORT25DEMOSTAFFTOTPKEY2FAREVIEWS"  # noqa: S105 - published on purpose
# Documentation addresses (RFC 5737, 3849): never someone else's server, but no check can reach them.
DEMO_SERVER_IPS = ["203.0.113.10", "2001:db8::10"]


class Command(DemoDataCommand):
    help = "Create a demo customer (with a server), a support reviewer and a superuser. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        groups = {g.name: g for g in ensure_staff_groups()}

        if not User.objects.filter(email=CUSTOMER_EMAIL).exists():
            register_customer(CUSTOMER_EMAIL, DEMO_PASSWORD, "Demo Hosting Ltd")
        account: Account = Membership.objects.get(user__email=CUSTOMER_EMAIL).account
        record_server(account, "demo-vm-1", "mail.demo-hosting.example.net", DEMO_SERVER_IPS)

        reviewer = User.objects.filter(email=REVIEWER_EMAIL).first() or User.objects.create_user(
            REVIEWER_EMAIL, DEMO_PASSWORD, is_staff=True
        )
        reviewer.groups.add(groups[SUPPORT_REVIEWER])
        admin = User.objects.filter(email=ADMIN_EMAIL).first() or User.objects.create_superuser(
            ADMIN_EMAIL, DEMO_PASSWORD
        )
        for staff in (reviewer, admin):
            two_factor.enrol_with_secret(staff, DEMO_TOTP_SECRET)

        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Sign in with password {DEMO_PASSWORD!r} as:")
            + f"\n  customer  {CUSTOMER_EMAIL}   (portal: /)"
            + f"\n  reviewer  {REVIEWER_EMAIL}   (admin: /admin/)"
            + f"\n  admin     {ADMIN_EMAIL}      (admin: /admin/, superuser)"
            + f"\nStaff then give a code from an authenticator app set up with the key {DEMO_TOTP_SECRET}"
            + f"\n  (or: oathtool --totp -b {DEMO_TOTP_SECRET})."
            + "\n"
            + demo_server_note()
        )


def demo_server_note() -> str:
    """What the demo customer can do with the demo server's addresses, under this PORTAL_CHECK_ALLOW_NETWORKS."""
    ips = ", ".join(DEMO_SERVER_IPS)
    if all(is_public_ip(ip) for ip in DEMO_SERVER_IPS):
        return (
            f"The demo server's addresses ({ips}) are documentation addresses, allowed by"
            "\n  PORTAL_CHECK_ALLOW_NETWORKS: the request form offers them and the checks try them, but no server"
            "\n  answers there, so the relay check says so. Record a server with a public address to see checks pass."
        )
    return (
        f"The demo server's addresses ({ips}) are documentation addresses, which the checks refuse, so the"
        "\n  request form does not offer them. Allow them with PORTAL_CHECK_ALLOW_NETWORKS=203.0.113.0/24,2001:db8::/32"
        "\n  (scripts/run does), or record a server with a public address."
    )
