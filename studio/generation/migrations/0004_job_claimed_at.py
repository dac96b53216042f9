# A job's lease starts when a worker claims it: the sweeper re-queues a "running" job whose lease ran out.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0003_move_models_to_layered_apps"),
    ]

    operations = [
        migrations.AddField(
            model_name="generationjob",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
