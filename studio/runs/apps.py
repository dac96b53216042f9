from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "studio.runs"
    label = "runs"
    verbose_name = "Production runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: models and other apps are not loaded when AppConfig is.
        from studio.generation import extensions, limiter
        from studio.runs import events, selectors  # noqa: F401 - registers the runs' audit event types
        from studio.runs.limiter_leases import DatabaseBackend

        limiter.register_database_backend(DatabaseBackend())
        extensions.register_self_scheduled_jobs(selectors.jobs_scheduled_by_runs)
