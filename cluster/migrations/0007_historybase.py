import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cluster", "0006_lessons"),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoryBase",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("rv", models.BigIntegerField()),
                ("sim_time", models.FloatField()),
                ("bodies", models.JSONField(default=list)),
                (
                    "cluster",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="history_base",
                        to="cluster.cluster",
                    ),
                ),
            ],
        ),
    ]
