from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "approvals.costs"
    label = "costs"
    verbose_name = "Cost and operations"
    default_auto_field = "django.db.models.BigAutoField"
