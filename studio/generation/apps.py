from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio.generation"
    label = "studio"  # the label the tables and migrations have always had
    verbose_name = "Studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # kombu's filesystem broker (the embedded default) needs its folders before anyone publishes,
        # wherever IMPRIMATUR_VAR_DIR points; a no-op for Redis or RabbitMQ.
        from studio.celery import ensure_broker_folders
        from studio.generation import events  # noqa: F401 - registers the studio's audit event types

        ensure_broker_folders()
