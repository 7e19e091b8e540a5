"""CheckRun.score (100 = all passed) becomes CheckRun.risk (0 = all passed): one scale across the portal."""

from django.db import migrations, models
from django.db.models import F


def invert(apps, schema_editor):
    # Its own inverse: 100 - (100 - x) = x, so it also undoes itself.
    CheckRun = apps.get_model("verification", "CheckRun")
    CheckRun.objects.filter(risk__isnull=False).update(risk=100 - F("risk"))


class Migration(migrations.Migration):
    dependencies = [("verification", "0002_recheck_cycle")]

    operations = [
        migrations.RenameField("checkrun", "score", "risk"),
        migrations.AlterField(
            "checkrun",
            "risk",
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="risk"),
        ),
        migrations.RunPython(invert, invert),
    ]
