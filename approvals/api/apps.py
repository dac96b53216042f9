from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "approvals.api"
    label = "api"
    verbose_name = "Delivery API"
    default_auto_field = "django.db.models.BigAutoField"
