from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "approvals.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: models and other apps are not loaded when AppConfig is.
        from approvals.webhooks import events  # noqa: F401 - registers the audit event types
        from approvals.webhooks.receivers import on_audit_event_committed
        from studio.core.audit.chain import audit_event_committed

        audit_event_committed.connect(on_audit_event_committed, dispatch_uid="webhooks.on_audit_event_committed")
