"""Production settings: everything comes from the environment (see .env.example).

Nginx terminates TLS in front of uWSGI (pages) and Daphne (/ws/); each server's own
configuration sets DJANGO_CONN_MAX_AGE and DJANGO_DB_POOL for its process model.
"""

import copy
from email.utils import getaddresses

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, env
from .base import LOGGING as BASE_LOGGING

DEBUG = False

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: production refuses to start without a secret key "
        "(see .env.example)."
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
PARENT_HOST = env("PARENT_HOST", default="")
if PARENT_HOST:
    # Course subdomains must pass host validation to reach the redirect middleware.
    ALLOWED_HOSTS += [
        host for host in (PARENT_HOST, f".{PARENT_HOST}") if host not in ALLOWED_HOSTS
    ]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is not set (a comma-separated host list).")

# Database: uWSGI workers keep health-checked connections (DJANGO_CONN_MAX_AGE in uwsgi.ini);
# ASGI servers must not (connections leak across their threads), so Daphne runs with
# DJANGO_CONN_MAX_AGE=0 and, optionally, psycopg's pool that checks each connection it lends.
if not env("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL is not set (postgres://user:password@host:5432/db).")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
# Behind PgBouncer in transaction mode a cursor cannot outlive its transaction.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DJANGO_DB_DISABLE_SERVER_SIDE_CURSORS", default=False
)

# HTTPS: Nginx terminates TLS and tells Django with X-Forwarded-Proto (it overwrites any value a
# client sends, so the header can be trusted).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Container health checks talk to the servers directly, without TLS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names make Nginx's one-year cache headers on /static/ safe.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
# Nginx reads uploads as its own unprivileged user.
FILE_UPLOAD_PERMISSIONS = 0o644
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o755
# Course files go out through Nginx's internal location after Django's permission check.
MEDIA_ACCEL_REDIRECT_PREFIX = env("MEDIA_ACCEL_REDIRECT_PREFIX", default="/protected-media/")

# E-mail: EMAIL_URL (smtp+tls://user:password@host:587), or the separate EMAIL_* variables.
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
SERVER_EMAIL = env("SERVER_EMAIL", default=env("DEFAULT_FROM_EMAIL", default="educa@localhost"))
# "Ada Lovelace <ada@example.com>, ops@example.com": they receive server errors.
ADMINS = [
    (name or address, address)
    for name, address in getaddresses([env("ADMINS", default="")])
    if address
]
MANAGERS = ADMINS

# Base's loggers and filters, with every console line as JSON on stdout.
LOGGING = copy.deepcopy(BASE_LOGGING)
LOGGING["formatters"] = {
    **LOGGING.get("formatters", {}),
    "json": {"()": "educa.jsonlog.JsonFormatter"},
}
for handler in LOGGING["handlers"].values():
    if handler.get("class") == "logging.StreamHandler":
        handler.update({"stream": "ext://sys.stdout", "formatter": "json"})
