from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "approvals.publishing"
    label = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the audit vocabulary and the panels publishing adds to the review and variant pages."""
        # Imported here, not at module level: models must not load before the app registry is ready.
        from approvals.publishing import events, panels  # noqa: F401 - importing registers the event types
        from approvals.reviews.extensions import register_review_context
        from studio.generation.extensions import register_variant_context

        register_review_context(panels.review_publish_context)
        register_variant_context(panels.variant_publications_context)
