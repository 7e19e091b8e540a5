from django.db import migrations, models
from django.db.models import F


def reports_so_far_were_matched_on_receipt(apps, schema_editor):
    """Until now the intake matched every report as it stored it: none of them waits for the worker."""
    apps.get_model("abuse", "AbuseReport").objects.update(matched_at=F("received_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("abuse", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="abusereport",
            name="matched_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the report was matched to the inventory and weighed; empty while it waits for the worker.",
                null=True,
                verbose_name="matched",
            ),
        ),
        migrations.RunPython(reports_so_far_were_matched_on_receipt, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="abusereport",
            index=models.Index(
                condition=models.Q(("matched_at__isnull", True)), fields=["id"], name="abuse_report_waiting"
            ),
        ),
    ]
