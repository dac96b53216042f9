from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "approvals.reviews"
    label = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the audit vocabulary, and plug the review workflow into the studio below it."""
        # Imported here, not at module level: models must not load before the app registry is ready.
        from approvals.reviews import events, hooks  # noqa: F401 - importing registers the event types
        from studio.generation.extensions import register_fix_comment_lookup, register_variant_context
        from studio.generation.signals import variant_superseded

        register_variant_context(hooks.variant_review_context)
        from approvals.reviews import panels

        register_variant_context(panels.variant_feedback)  # the review's feedback on the variant page
        register_variant_context(panels.submit_options)  # due date and reviewers when submitting
        register_fix_comment_lookup(hooks.fix_comment_for)
        variant_superseded.connect(hooks.on_variant_superseded, dispatch_uid="approvals.reviews.supersede")
