"""State-only move between apps (SeparateDatabaseAndState): studio hands workspaces and memberships to core. Every table keeps its name
(``db_table``), so an existing database upgrades with ``migrate`` and loses nothing; the PostgreSQL
append-only trigger stays on approvals_auditevent."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studio', '0002_variant_safety_severity'),
        ('core', '0001_initial'),
        ('approvals', '0004_move_models_to_layered_apps'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='generationjob',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='core.workspace'),
            ),
            migrations.AlterField(
                model_name='promptdraft',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='drafts', to='core.workspace'),
            ),
            migrations.AlterField(
                model_name='campaign',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='campaigns', to='core.workspace'),
            ),
            migrations.AlterField(
                model_name='variant',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variants', to='core.workspace'),
            ),
            migrations.AlterField(
                model_name='prompttemplate',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='prompt_templates', to='core.workspace'),
            ),
            migrations.AlterField(
                model_name='deployment',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deployments', to='core.workspace'),
            ),
            migrations.DeleteModel(
                name='Membership',
            ),
            migrations.DeleteModel(
                name='Workspace',
            ),
            ],
            database_operations=[],
        ),
    ]
