from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cluster", "0003_traffic"),
    ]

    operations = [
        migrations.AddField(
            model_name="cluster",
            name="dual_stack",
            field=models.BooleanField(default=False),
        ),
    ]
