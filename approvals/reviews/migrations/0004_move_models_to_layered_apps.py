"""State-only move between apps (SeparateDatabaseAndState): approvals hands its safety, audit, notification and publication models to the layers that own them. Every table keeps its name
(``db_table``), so an existing database upgrades with ``migrate`` and loses nothing; the PostgreSQL
append-only trigger stays on approvals_auditevent."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0003_queue_indexes'),
        ('core', '0001_initial'),
        ('safety', '0001_initial'),
        ('publishing', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveField(
                model_name='auditchain',
                name='workspace',
            ),
            migrations.RemoveField(
                model_name='auditevent',
                name='actor',
            ),
            migrations.RemoveField(
                model_name='auditevent',
                name='workspace',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='user',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='workspace',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='published_by',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='review',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='target_format',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='variant',
            ),
            migrations.RemoveField(
                model_name='publication',
                name='workspace',
            ),
            migrations.RemoveField(
                model_name='safetyassessment',
                name='job',
            ),
            migrations.RemoveField(
                model_name='safetyassessment',
                name='variant',
            ),
            migrations.RemoveField(
                model_name='safetyassessment',
                name='workspace',
            ),
            migrations.DeleteModel(
                name='SafetyRule',
            ),
            migrations.AlterField(
                model_name='review',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='core.workspace'),
            ),
            migrations.AlterField(
                model_name='stagepolicy',
                name='workspace',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stage_policies', to='core.workspace'),
            ),
            migrations.DeleteModel(
                name='AuditChain',
            ),
            migrations.DeleteModel(
                name='AuditEvent',
            ),
            migrations.DeleteModel(
                name='Notification',
            ),
            migrations.DeleteModel(
                name='Publication',
            ),
            migrations.DeleteModel(
                name='SafetyAssessment',
            ),
            ],
            database_operations=[],
        ),
    ]
