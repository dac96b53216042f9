"""State-only move between apps (SeparateDatabaseAndState): safety takes over assessments and rule packs from approvals. Every table keeps its name
(``db_table``), so an existing database upgrades with ``migrate`` and loses nothing; the PostgreSQL
append-only trigger stays on approvals_auditevent."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('core', '0001_initial'),
        ('studio', '0002_variant_safety_severity'),
        ('approvals', '0003_queue_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='SafetyRule',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('sector', models.CharField(blank=True, choices=[('general', 'General'), ('financial', 'Financial services'), ('healthcare', 'Healthcare'), ('childrens_media', "Children's media")], max_length=20)),
                    ('category', models.CharField(max_length=60)),
                    ('pattern', models.CharField(help_text='Phrase (whole words) or regex if is_regex', max_length=300)),
                    ('is_regex', models.BooleanField(default=False)),
                    ('verdict', models.CharField(choices=[('pending', 'Pending'), ('allow', 'Allow: brand review'), ('review', 'Review: brand + compliance'), ('block', 'Block')], default='review', max_length=10)),
                    ('advice', models.CharField(blank=True, help_text='What the marketer should change', max_length=300)),
                    ('active', models.BooleanField(default=True)),
                ],
                options={
                    'db_table': 'approvals_safetyrule',
                    'ordering': ['sector', 'category', 'pattern'],
                    'constraints': [models.UniqueConstraint(fields=('sector', 'category', 'pattern'), name='safety_rule_unique'), models.CheckConstraint(condition=models.Q(('verdict', 'pending'), _negated=True), name='safety_rule_verdict_final')],
                },
            ),
            migrations.CreateModel(
                name='SafetyAssessment',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('stage', models.CharField(choices=[('prompt', 'Prompt pre-screen'), ('image', 'Image post-screen'), ('provider_prompt', 'Provider prompt filter'), ('provider_output', 'Provider output filter')], max_length=20)),
                    ('screener', models.CharField(choices=[('local', 'Local rules'), ('azure', 'Azure AI Content Safety'), ('openai', 'OpenAI moderation'), ('provider', "Image provider's filter")], max_length=10)),
                    ('status', models.CharField(choices=[('complete', 'Complete'), ('error', 'Screener unavailable'), ('fail_open', 'Skipped (workspace fails open)')], default='complete', max_length=10)),
                    ('verdict', models.CharField(choices=[('pending', 'Pending'), ('allow', 'Allow: brand review'), ('review', 'Review: brand + compliance'), ('block', 'Block')], max_length=10)),
                    ('categories', models.JSONField(blank=True, default=list, help_text='[{"category", "severity", "verdict"}]')),
                    ('matches', models.JSONField(blank=True, default=list, help_text='Blocklist / rule hits with spans')),
                    ('decided_by', models.CharField(blank=True, help_text='The rule or category that decided', max_length=200)),
                    ('explanation', models.TextField(blank=True)),
                    ('screened_text', models.TextField(blank=True)),
                    ('error', models.TextField(blank=True)),
                    ('attempts', models.PositiveSmallIntegerField(default=1)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='assessments', to='studio.generationjob')),
                    ('variant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='assessments', to='studio.variant')),
                    ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='safety_assessments', to='core.workspace')),
                ],
                options={
                    'db_table': 'approvals_safetyassessment',
                    'ordering': ['created_at', 'pk'],
                    'constraints': [models.CheckConstraint(condition=models.Q(('stage__in', ['prompt', 'image', 'provider_prompt', 'provider_output'])), name='assessment_stage_valid'), models.CheckConstraint(condition=models.Q(('screener__in', ['local', 'azure', 'openai', 'provider'])), name='assessment_screener_valid'), models.CheckConstraint(condition=models.Q(('verdict__in', ['pending', 'allow', 'review', 'block'])), name='assessment_verdict_valid'), models.CheckConstraint(condition=models.Q(('job__isnull', False), ('variant__isnull', False), _connector='OR'), name='assessment_has_subject')],
                },
            ),
            ],
            database_operations=[],
        ),
    ]
