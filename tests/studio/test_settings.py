"""Deployment hygiene: production settings pass `check --deploy` and refuse a per-process cache; defaults
need no configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "CACHE_URL"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production(tmp_path, **extra) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "studio.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
        "DJANGO_ALLOWED_HOSTS": "imprimatur.example.com",
        "IMPRIMATUR_VAR_DIR": str(tmp_path),
        **extra,
    }


def test_production_settings_pass_check_deploy(tmp_path):
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"], _production(tmp_path, CACHE_URL="redis://127.0.0.1:6379/1")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_count_rate_limits_per_process(tmp_path):
    """Without a shared cache each web worker would count a key's requests alone (N workers, N times the
    limit): production does not start, and says what to set."""
    result = _manage(["check", "--deploy"], _production(tmp_path))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set CACHE_URL to a Redis URL" in result.stderr
    assert "each web process would count on its own" in result.stderr


def test_production_shares_the_brokers_redis_when_no_cache_is_named(tmp_path):
    code = "from django.conf import settings; c = settings.CACHES['default']; print(c['BACKEND'], c['LOCATION'])"
    for extra, location in (
        ({"CELERY_BROKER_URL": "redis://broker:6379/0"}, "redis://broker:6379/0"),
        ({"CELERY_BROKER_URL": "redis://broker:6379/0", "CACHE_URL": "redis://cache:6379/1"}, "redis://cache:6379/1"),
    ):
        result = _manage(["shell", "-v", "0", "-c", code], _production(tmp_path, **extra))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache", location]


def test_local_settings_work_with_no_configuration(tmp_path):
    result = _manage(
        ["check"], {"DJANGO_SETTINGS_MODULE": "studio.settings.local", "IMPRIMATUR_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_s3_storage_is_selected_by_bucket_variable(tmp_path):
    code = (
        "from django.conf import settings; s = settings.STORAGES['default']; "
        "print(s['BACKEND'], s['OPTIONS']['bucket_name'], s['OPTIONS']['endpoint_url'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "studio.settings.local",
            "IMPRIMATUR_VAR_DIR": str(tmp_path),
            "AWS_STORAGE_BUCKET_NAME": "imprimatur-assets",
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["storages.backends.s3.S3Storage", "imprimatur-assets", "http://127.0.0.1:9000"]


def test_filesystem_broker_keeps_its_control_folder_under_the_var_directory(tmp_path):
    """kombu's default control folder is ./control of whatever directory the process started in; that is
    how one was once committed at the top of the repository."""
    var, elsewhere = tmp_path / "var", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    env.update(
        {"DJANGO_SETTINGS_MODULE": "studio.settings.local", "IMPRIMATUR_VAR_DIR": str(var), "PYTHONPATH": str(ROOT)}
    )
    code = "import django; django.setup(); from studio.celery import app; app.send_task('imprimatur.noop')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert not (elsewhere / "control").exists()
    assert [p.name for p in (var / "broker" / "control").iterdir()] == ["celery.exchange"]


def test_the_visibility_timeout_is_above_the_longest_countdown_plus_the_slowest_task(settings):
    """A task retried with a countdown is held unacked by a worker until its ETA, then runs, still unacked:
    a shorter visibility timeout makes Redis hand a healthy worker's task to a second worker."""
    from studio.celery import app
    from studio.generation.services.sweeper import job_lease
    from studio.lib.providers.retry import MAX_HONOURED_RETRY_AFTER
    from studio.safety.tasks import MAX_DELAY_SECONDS

    app.loader.import_default_modules()
    slowest = max(task.soft_time_limit or 0 for name, task in app.tasks.items() if not name.startswith("celery."))
    longest_countdown = max(MAX_HONOURED_RETRY_AFTER, MAX_DELAY_SECONDS)
    assert slowest >= 600  # job_run's
    assert longest_countdown + slowest < settings.IMPRIMATUR_VISIBILITY_TIMEOUT_SECONDS
    assert job_lease().total_seconds() <= settings.IMPRIMATUR_VISIBILITY_TIMEOUT_SECONDS
