from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "approvals.reviews"
    label = "approvals"
    verbose_name = "Approvals"
    default_auto_field = "django.db.models.BigAutoField"
