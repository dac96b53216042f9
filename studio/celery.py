"""The Celery application. Broker and options come from Django settings (CELERY_ namespace)."""

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.local")

app = Celery("imprimatur")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """kombu's filesystem transport does not create its folders; do it before anyone publishes."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


# --- Worker database connections (see CELERY_DB_REUSE_MAX in the settings): kept across tasks, dropped when
# broken or old. Only in a worker process: eager tasks run inside a request's or a test's transaction.
_reuse_connections: list[bool] = []


@signals.worker_init.connect
def _worker_keeps_connections(**_kwargs) -> None:
    from django.conf import settings
    from django.db import connections

    max_age = getattr(settings, "IMPRIMATUR_WORKER_CONN_MAX_AGE", 0)
    if not max_age or not getattr(settings, "CELERY_DB_REUSE_MAX", None):
        return
    for alias in connections:
        if connections.settings[alias].get("CONN_MAX_AGE") == 0:
            connections.settings[alias]["CONN_MAX_AGE"] = max_age
    _reuse_connections.append(True)


@signals.task_prerun.connect
def _drop_stale_connections(task=None, **_kwargs) -> None:
    if _reuse_connections and not getattr(getattr(task, "request", None), "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
