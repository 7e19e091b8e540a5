from django.core.management.base import BaseCommand

from accounts.staff_groups import ensure_staff_groups


class Command(BaseCommand):
    help = "Create or update the staff groups (Support reviewer, Abuse desk) and their permissions."

    def handle(self, *args, **options) -> None:
        for group in ensure_staff_groups():
            self.stdout.write(f"{group.name}: {group.permissions.count()} permissions")
