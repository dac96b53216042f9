"""Content Credentials: one signing certificate per workspace (the key stays in an environment variable)."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("core", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SigningCredential",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "certificate_chain",
                    models.TextField(help_text="PEM: the signing certificate first, then its intermediates"),
                ),
                (
                    "private_key_env",
                    models.CharField(
                        help_text="Name of the environment variable holding the PEM private key (never the key itself)",
                        max_length=80,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z_][A-Z0-9_]*$",
                                "Give the name of an environment variable (e.g. IMPRIMATUR_KEY_C2PA), not a key.",
                            )
                        ],
                    ),
                ),
                ("algorithm", models.CharField(max_length=8)),
                ("subject", models.CharField(max_length=300)),
                ("organization", models.CharField(blank=True, max_length=300)),
                ("issuer", models.CharField(max_length=300)),
                ("serial_number", models.CharField(max_length=80)),
                ("fingerprint_sha256", models.CharField(max_length=64)),
                ("not_valid_before", models.DateTimeField()),
                ("not_valid_after", models.DateTimeField()),
                ("configured_at", models.DateTimeField(auto_now=True)),
                (
                    "configured_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "workspace",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signing_credential",
                        to="core.workspace",
                    ),
                ),
            ],
            options={"verbose_name": "Content Credentials signing certificate"},
        ),
    ]
