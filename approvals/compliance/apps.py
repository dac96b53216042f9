from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "approvals.compliance"
    label = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals.compliance import events  # noqa: F401 - registers the compliance event types
