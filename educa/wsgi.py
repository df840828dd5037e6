"""WSGI entry point (uWSGI serves the pages in production)."""

import os

from django.core.wsgi import get_wsgi_application

from educa.settings import refusal_in_one_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.local")

with refusal_in_one_line():
    application = get_wsgi_application()
