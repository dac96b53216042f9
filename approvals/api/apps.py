from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "approvals.api"
    label = "api"
    verbose_name = "Delivery API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals.api import events  # noqa: F401 - registers the API's audit event types
