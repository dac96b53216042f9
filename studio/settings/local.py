"""Developer machine: `make run`. Debug on, everything embedded."""

from studio.settings.base import *  # noqa: F403
from studio.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
IMPRIMATUR_SHOW_DEMO_LOGINS = env.bool("IMPRIMATUR_SHOW_DEMO_LOGINS", default=True)
