"""WSGI entry point (uWSGI serves the pages in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.local")

application = get_wsgi_application()
