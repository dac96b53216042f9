from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    name = "studio.provenance"
    label = "provenance"
    verbose_name = "Content Credentials"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from studio.provenance import events  # noqa: F401 - registers the Content Credentials audit event types
