from django.apps import AppConfig


class LoginGuardConfig(AppConfig):
    """A hook only (no models): connects the failed-login receiver at startup."""

    name = "studio.core.login_guard"
    label = "login_guard"
    verbose_name = "Login throttling"

    def ready(self) -> None:
        from studio.core.login_guard import receivers  # noqa: F401  (connects the signal receiver)
