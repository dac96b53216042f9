from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "approvals.costs"
    label = "costs"
    verbose_name = "Cost and operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from approvals.costs import (
            events,  # noqa: F401 - registers the cost event types
            receivers,
        )
        from approvals.reviews.models import Decision
        from studio.generation.models import GenerationJob, Variant
        from studio.generation.signals import job_settled

        job_settled.connect(receivers.on_job_settled, dispatch_uid="costs.job_settled")
        post_save.connect(receivers.on_job_saved, sender=GenerationJob, dispatch_uid="costs.job_saved")
        post_save.connect(receivers.on_variant_saved, sender=Variant, dispatch_uid="costs.variant_saved")
        post_save.connect(receivers.on_decision_saved, sender=Decision, dispatch_uid="costs.decision_saved")
