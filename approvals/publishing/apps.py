from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "approvals.publishing"
    label = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"
