"""How staff (superusers too) get their authenticator app set up: a link, never the password alone."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import two_factor
from accounts.models import User


def staff_member(email: str) -> User:
    """The member of staff with this address, or a CommandError that says why not."""
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CommandError(f"No user with the address {email!r}.")
    if not user.is_staff:
        raise CommandError(f"{user.email} is not staff; customers have no two-factor devices.")
    return user


class Command(BaseCommand):
    help = (
        "Print a one-time enrolment link with which a member of staff (a superuser too) sets up their "
        "authenticator app after signing in with their password. Hand it over by another channel than "
        "their e-mail; an earlier link stops working."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="The staff member's e-mail address.")

    def handle(self, *args, email: str, **options) -> None:
        user = staff_member(email)
        if two_factor.is_enrolled(user):
            raise CommandError(f"{user.email} has set up two-factor sign-in already; reset_two_factor replaces it.")
        self.stdout.write(enrolment_message(user))


def enrolment_message(user: User) -> str:
    """A new enrolment link for `user` (an earlier one stops working), as the command prints it."""
    url = two_factor.enrolment_url(two_factor.issue_enrolment(user))
    hours = settings.PORTAL_TWO_FACTOR_ENROLMENT_HOURS
    return f"Enrolment link for {user.email}, valid for {hours} h and for one app:\n  {url}"
