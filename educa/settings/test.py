"""Test settings: PostgreSQL (started by tests/conftest.py unless DATABASE_URL is set)."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, database_from_env

# The benchmark's management commands: the suite runs them, production never installs them.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
DEBUG = False
SECRET_KEY = "test-secret-key-not-used-anywhere-else-0123456789abcdefghijklmnop"  # noqa: S105
DATABASES = {"default": database_from_env("postgres://educa@127.0.0.1:1/educa")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The test client's host: e-mailed links lead back to it.
SITE_URL = "http://testserver"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
