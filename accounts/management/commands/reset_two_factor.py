"""A superuser's way out for staff who lost their authenticator app and their recovery codes."""

from django.core.management.base import BaseCommand

from accounts import two_factor
from accounts.management.commands.issue_two_factor_enrolment import enrolment_message, staff_member


class Command(BaseCommand):
    help = (
        "Forget the two-factor devices (authenticator app, recovery codes) of a member of staff and print a "
        "new enrolment link for them. Check who is asking first: this is how an attacker would get in."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="The staff member's e-mail address.")

    def handle(self, *args, email: str, **options) -> None:
        user = staff_member(email)
        removed = two_factor.reset(user)
        self.stdout.write(self.style.SUCCESS(f"Removed {removed} device(s) of {user.email}.") + "\n")
        self.stdout.write(enrolment_message(user))
