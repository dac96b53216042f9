from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "studio.core"
    label = "core"
    verbose_name = "Workspaces and audit"
    default_auto_field = "django.db.models.BigAutoField"
