"""Static files in production: compressed, hashed names, and hashed ES module imports.

The studio's JavaScript is small vanilla ES modules that import each other (``./mask-canvas.js``).
Django's manifest storage rewrites those imports to the hashed names only when asked; without it a
cached old module could be paired with a new one after a deploy. Third-party bundles (django-htmx's
extensions import a bare ``htmx`` specifier meant for a bundler) are left as their authors wrote them."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage

OWN_SCRIPTS = "js/"


class StudioStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

    def url_converter(self, name, hashed_files, template=None):
        convert = super().url_converter(name, hashed_files, template)
        if name.startswith(OWN_SCRIPTS):
            return convert  # our modules: a missing import is a bug, let collectstatic fail loudly

        def as_written(matchobj):
            try:
                return convert(matchobj)
            except ValueError:
                return matchobj["matched"]

        return as_written
