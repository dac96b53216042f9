"""Issue 10: `make run` (studio.settings.local) keeps DEBUG off unless DJANGO_DEBUG=1, and still serves
the static files (WhiteNoise from the finders) with DEBUG off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.templatetags.static import static
from django.test import Client
css = static("css/app.css")  # what base.html links (a manifest storage would need collectstatic here)
response = Client().get(css)
body = b"".join(response.streaming_content) if response.streaming else response.content
print(json.dumps({"debug": settings.DEBUG, "css": css, "status": response.status_code, "bytes": len(body)}))
"""


def _run(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings.local",
        IMPRIMATUR_VAR_DIR=str(tmp_path),
        DJANGO_ALLOWED_HOSTS="testserver",
        **extra,
    )
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_local_settings_debug_is_off_by_default_and_static_css_is_served(tmp_path):
    result = _run(tmp_path)
    assert result["debug"] is False
    assert result["status"] == 200
    assert result["bytes"] > 0


def test_local_settings_debug_on_only_when_asked(tmp_path):
    assert _run(tmp_path, DJANGO_DEBUG="1")["debug"] is True
