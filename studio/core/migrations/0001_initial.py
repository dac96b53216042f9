"""State-only move between apps (SeparateDatabaseAndState): core takes over workspaces, memberships, notifications and the audit chain from studio and approvals. Every table keeps its name
(``db_table``), so an existing database upgrades with ``migrate`` and loses nothing; the PostgreSQL
append-only trigger stays on approvals_auditevent."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MOVED = {
    ("studio", "workspace"): "core",
    ("studio", "membership"): "core",
    ("approvals", "notification"): "core",
    ("approvals", "auditchain"): "core",
    ("approvals", "auditevent"): "core",
    ("approvals", "safetyassessment"): "safety",
    ("approvals", "safetyrule"): "safety",
    ("approvals", "publication"): "publishing",
}


def content_types_follow(apps, schema_editor):
    """Keep admin history and permissions attached: relabel the moved models' content types."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for (old_label, model), new_label in MOVED.items():
        if not content_type.objects.filter(app_label=new_label, model=model).exists():
            content_type.objects.filter(app_label=old_label, model=model).update(app_label=new_label)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('studio', '0002_variant_safety_severity'),
        ('approvals', '0003_queue_indexes'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Workspace',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=120)),
                    ('slug', models.SlugField(max_length=60, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9-]*$', 'Use lowercase letters, digits and dashes.')])),
                    ('style_guide', models.TextField(blank=True, help_text='Prepended to every prompt, unchanged.')),
                    ('sector', models.CharField(choices=[('general', 'General'), ('financial', 'Financial services'), ('healthcare', 'Healthcare'), ('childrens_media', "Children's media")], default='general', max_length=20)),
                    ('regulated', models.BooleanField(default=False, help_text='Regulated workspaces send everything through compliance review.')),
                    ('default_locales', models.JSONField(blank=True, default=list)),
                    ('safety_fail_open', models.BooleanField(default=False, help_text='If a screener is down, let items through instead of waiting (audited).')),
                    ('safety_screeners', models.JSONField(blank=True, default=list, help_text='Hosted screeners to run besides local rules: "azure", "openai".')),
                    ('blocklist_terms', models.JSONField(blank=True, default=list)),
                    ('safety_policy', models.JSONField(blank=True, default=dict, help_text='Overrides on the sector preset: {"Violence": {"2": "review", "4": "block"}}')),
                    ('review_sla_hours', models.PositiveIntegerField(default=48)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                ],
                options={
                    'db_table': 'studio_workspace',
                    'ordering': ['name'],
                    'constraints': [models.CheckConstraint(condition=models.Q(('sector__in', ['general', 'financial', 'healthcare', 'childrens_media'])), name='workspace_sector_valid', violation_error_code='invalid_sector')],
                },
            ),
            migrations.CreateModel(
                name='Notification',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(max_length=40)),
                    ('text', models.CharField(max_length=400)),
                    ('url', models.CharField(blank=True, max_length=300)),
                    ('read_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.workspace')),
                ],
                options={
                    'db_table': 'approvals_notification',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.CreateModel(
                name='AuditChain',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('last_seq', models.PositiveBigIntegerField(default=0)),
                    ('last_hash', models.CharField(default='0000000000000000000000000000000000000000000000000000000000000000', max_length=64)),
                    ('workspace', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='audit_chain', to='core.workspace')),
                ],
                options={
                    'db_table': 'approvals_auditchain',
                },
            ),
            migrations.CreateModel(
                name='Membership',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('role', models.CharField(choices=[('marketer', 'Marketer'), ('brand_reviewer', 'Brand reviewer'), ('compliance', 'Compliance auditor'), ('admin', 'Workspace admin')], max_length=20)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
                    ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='core.workspace')),
                ],
                options={
                    'db_table': 'studio_membership',
                    'constraints': [models.UniqueConstraint(fields=('user', 'workspace', 'role'), name='membership_unique_role', violation_error_code='duplicate_membership'), models.CheckConstraint(condition=models.Q(('role__in', ['marketer', 'brand_reviewer', 'compliance', 'admin'])), name='membership_role_valid', violation_error_code='invalid_role')],
                },
            ),
            migrations.CreateModel(
                name='AuditEvent',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('seq', models.PositiveBigIntegerField()),
                    ('action', models.CharField(db_index=True, max_length=80)),
                    ('actor_label', models.CharField(max_length=200)),
                    ('subject_type', models.CharField(max_length=60)),
                    ('subject_id', models.CharField(max_length=64)),
                    ('data', models.JSONField(blank=True, default=dict)),
                    ('ip', models.GenericIPAddressField(blank=True, null=True)),
                    ('user_agent', models.CharField(blank=True, max_length=400)),
                    ('created_at', models.DateTimeField(db_index=True)),
                    ('prev_hash', models.CharField(max_length=64)),
                    ('hash', models.CharField(max_length=64)),
                    ('actor', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='audit_events', to='core.workspace')),
                ],
                options={
                    'db_table': 'approvals_auditevent',
                    'ordering': ['workspace', 'seq'],
                    'indexes': [models.Index(fields=['workspace', 'subject_type', 'subject_id'], name='approvals_a_workspa_d91960_idx')],
                    'constraints': [models.UniqueConstraint(fields=('workspace', 'seq'), name='audit_unique_seq')],
                },
            ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_follow, migrations.RunPython.noop),
    ]
