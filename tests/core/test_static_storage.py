"""Production static files: our ES modules import each other by hashed name after collectstatic, so a
browser holding a cached old module never pairs it with a new one after a deploy."""

from __future__ import annotations

import re

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_hashes_the_imports_between_our_modules(tmp_path, settings):
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "studio.core.static_storage.StudioStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    painter = next(p for p in (tmp_path / "js").glob("mask-painter.*.js") if p.suffix == ".js")
    imports = re.findall(r'from "([^"]+)"', painter.read_text())
    assert imports, "the painter imports its parts"
    assert all(re.search(r"\.[0-9a-f]{12}\.js$", spec) for spec in imports), imports
    # django-htmx's extensions keep their bare "htmx" specifier (meant for a bundler), untouched
    assert (tmp_path / "django_htmx").exists()
