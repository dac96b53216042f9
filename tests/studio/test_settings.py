"""Deployment hygiene: production settings pass `check --deploy`; defaults need no configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
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


def test_production_settings_pass_check_deploy(tmp_path):
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "DJANGO_SETTINGS_MODULE": "studio.settings.production",
            "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
            "DJANGO_ALLOWED_HOSTS": "imprimatur.example.com",
            "IMPRIMATUR_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


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
