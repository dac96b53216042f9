from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "studio.safety"
    label = "safety"
    verbose_name = "Content safety"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from studio.safety import events  # noqa: F401 - registers the safety audit event types
