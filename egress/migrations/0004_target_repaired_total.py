from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("egress", "0003_final_block"),
    ]

    operations = [
        migrations.AddField(
            model_name="egresstarget",
            name="repaired_total",
            field=models.PositiveBigIntegerField(default=0, verbose_name="addresses repaired by reconciliations"),
        ),
    ]
