from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "studio.runs"
    label = "runs"
    verbose_name = "Production runs"
    default_auto_field = "django.db.models.BigAutoField"
