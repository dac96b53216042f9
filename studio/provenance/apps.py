from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    name = "studio.provenance"
    label = "provenance"
    verbose_name = "Content Credentials"
    default_auto_field = "django.db.models.BigAutoField"
