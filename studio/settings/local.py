"""Developer machine: `make run`. Everything embedded; debug OFF unless DJANGO_DEBUG=1 (the debug error
page shows environment variables to whoever triggers a 500)."""

from studio.settings.base import *  # noqa: F403
from studio.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
IMPRIMATUR_SHOW_DEMO_LOGINS = env.bool("IMPRIMATUR_SHOW_DEMO_LOGINS", default=True)
# With DEBUG off, runserver no longer serves /static/: WhiteNoise serves it straight from the finders
# (no collectstatic needed on a developer machine) and without the manifest (which needs collectstatic).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
IMPRIMATUR_ALLOW_HTTP_ENDPOINTS = env.bool("IMPRIMATUR_ALLOW_HTTP_ENDPOINTS", default=True)  # local mocks
IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS = env.bool("IMPRIMATUR_WEBHOOK_ALLOW_LOCAL_URLS", default=True)  # local receivers
