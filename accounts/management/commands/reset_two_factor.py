"""A superuser's way out for staff who lost their authenticator app and their recovery codes."""

from django.core.management.base import BaseCommand, CommandError

from accounts import two_factor
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Forget the two-factor devices (authenticator app, recovery codes) of a member of staff, who then sets "
        "up a new app at their next sign-in. Check who is asking first: this is how an attacker would get in."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="The staff member's e-mail address.")

    def handle(self, *args, email: str, **options) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the address {email!r}.")
        if not user.is_staff:
            raise CommandError(f"{user.email} is not staff; customers have no two-factor devices.")
        removed = two_factor.reset(user)
        self.stdout.write(
            self.style.SUCCESS(f"Removed {removed} device(s) of {user.email}.")
            + " They set up a new authenticator app at their next sign-in to /admin/."
        )
