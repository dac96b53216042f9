"""State-only move between apps (SeparateDatabaseAndState): publishing takes over publications from approvals. Every table keeps its name
(``db_table``), so an existing database upgrades with ``migrate`` and loses nothing; the PostgreSQL
append-only trigger stays on approvals_auditevent."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('core', '0001_initial'),
        ('studio', '0002_variant_safety_severity'),
        ('approvals', '0003_queue_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Publication',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('width', models.PositiveIntegerField()),
                    ('height', models.PositiveIntegerField()),
                    ('file', models.FileField(upload_to='published/%Y/%m/')),
                    ('file_format', models.CharField(default='png', max_length=8)),
                    ('sha256', models.CharField(max_length=64)),
                    ('source_sha256', models.CharField(max_length=64)),
                    ('rendition_notes', models.JSONField(blank=True, default=list)),
                    ('status', models.CharField(choices=[('published', 'Published'), ('failed', 'Failed')], default='published', max_length=10)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('published_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('review', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='publications', to='approvals.review')),
                    ('target_format', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='studio.campaignformat')),
                    ('variant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='publications', to='studio.variant')),
                    ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='publications', to='core.workspace')),
                ],
                options={
                    'db_table': 'approvals_publication',
                    'ordering': ['-created_at'],
                    'constraints': [models.CheckConstraint(condition=models.Q(('height__gt', 0), ('width__gt', 0)), name='publication_size_positive'), models.UniqueConstraint(fields=('variant', 'target_format'), name='publication_unique_per_format', violation_error_code='already_published')],
                },
            ),
            ],
            database_operations=[],
        ),
    ]
