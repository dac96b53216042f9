from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "studio.core"
    label = "core"
    verbose_name = "Workspaces and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: models are not ready when the app module loads.
        from studio.core import auth_events  # noqa: F401 - registers the sign-in event type
        from studio.core.outbox import events  # noqa: F401 - registers the outbox's event type
