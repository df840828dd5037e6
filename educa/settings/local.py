"""Developer settings: embedded defaults, so `make run` needs nothing installed."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-local-development-only")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
