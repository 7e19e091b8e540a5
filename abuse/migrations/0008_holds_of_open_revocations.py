from django.conf import settings
from django.db import migrations

OPEN_STATES = ("active", "new_request")


def holds_of_open_revocations(apps, schema_editor):
    """Each open revocation's level becomes the hold on its account's block (egress.reopening judges it)."""
    Revocation = apps.get_model("abuse", "Revocation")
    AccountEgress = apps.get_model("egress", "AccountEgress")
    levels = settings.PORTAL_ABUSE_REINSTATEMENT
    for revocation in Revocation.objects.filter(state__in=OPEN_STATES).order_by("ordinal"):
        AccountEgress.objects.filter(account_id=revocation.account_id, desired="blocked").update(
            reopen_by=levels[min(revocation.ordinal, len(levels)) - 1],
            reopen_by_request=revocation.state == "new_request",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("abuse", "0007_evidence_read_whatever_its_depth"),
        ("egress", "0009_reopen_hold"),
    ]

    operations = [migrations.RunPython(holds_of_open_revocations, migrations.RunPython.noop)]
