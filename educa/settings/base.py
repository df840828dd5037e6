"""Settings shared by every environment; values that differ come from the environment."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from educa.redis import layer_host, sentinel_address

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# `.env` is a developer's file: read under the local settings (the default of manage.py and
# `make run`) or when DJANGO_READ_DOT_ENV_FILE is true, never silently elsewhere: production
# takes its environment from its servers. Variables already set win over the file.
DOT_ENV_FILE = BASE_DIR / ".env"
READ_DOT_ENV_FILE = env.bool(
    "DJANGO_READ_DOT_ENV_FILE",
    default=env("DJANGO_SETTINGS_MODULE", default="") == "educa.settings.local",
)
if READ_DOT_ENV_FILE and DOT_ENV_FILE.exists():
    environ.Env.read_env(DOT_ENV_FILE, overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=None)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "braces",
    "axes",
    "csp",
    "courses",
    "students",
    "chat",
    "quizzes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with the policy built once rather than for every response.
    "educa.middleware.CSPMiddleware",
    # A no-op unless PARENT_HOST is set.
    "educa.middleware.CourseSubdomainMiddleware",
    # Before sessions, CSRF and authentication: a cached anonymous page costs none of them.
    "courses.cache.AnonymousPageCacheMiddleware",
    # Above sessions: its look at the user comes after SessionMiddleware has set Vary.
    "educa.middleware.PrivateCacheControlMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language from the cookie, else Accept-Language (no URL prefixes)...
    "django.middleware.locale.LocaleMiddleware",
    # ...unless the logged-in user saved one (students/language.py).
    "students.language.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a flagged failed log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# `<course-slug>.<PARENT_HOST>` redirects to the course page on PARENT_HOST.
PARENT_HOST = env("PARENT_HOST", default="")

ROOT_URLCONF = "educa.urls"
WSGI_APPLICATION = "educa.wsgi.application"
ASGI_APPLICATION = "educa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chat.context_processors.chat_rooms",
            ],
        },
    },
]


def database_from_env(default_url: str) -> dict:
    """DATABASE_URL's database, with the connection handling the environment asks for."""
    # Empty counts as unset: prod.py then names the missing variable instead of a parse warning.
    database = env.db_url_config(env("DATABASE_URL", default="") or default_url)
    # A Unix-socket folder is written percent-encoded in the host part, as libpq URLs do
    # (postgres://user@%2Fvar%2Frun%2Fpostgresql/educa); django-environ leaves it encoded.
    database["HOST"] = unquote(database["HOST"])
    # Persistent connections leak under ASGI; each server's own configuration may raise this.
    database["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
    database["CONN_HEALTH_CHECKS"] = True
    database["ATOMIC_REQUESTS"] = False
    if "postgresql" in database["ENGINE"]:
        # psycopg waits 130 s for a server that does not answer (libpq's minimum is 2 s); a chat
        # batch, a pool worker or a page would hang that long on a dead database host.
        database.setdefault("OPTIONS", {})["connect_timeout"] = env.int(
            "DJANGO_DB_CONNECT_TIMEOUT", default=2
        )
    if env.bool("DJANGO_DB_POOL", default=False) and "postgresql" in database["ENGINE"]:
        # Django hands CONN_HEALTH_CHECKS to the pool as its `check`: a connection broken by a
        # PostgreSQL restart is replaced before a request gets it.
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DJANGO_DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DJANGO_DB_POOL_MAX_SIZE", default=10),
            "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", default=5.0),
        }
    prepare_threshold = env("DJANGO_DB_PREPARE_THRESHOLD", default="off")
    if prepare_threshold not in ("", "off") and "postgresql" in database["ENGINE"]:
        # PostgreSQL parses and plans a query run that many times on a connection once, which
        # halves its work per page; psycopg prepares only with server-side parameter binding.
        # For connections that live (uWSGI's); not behind PgBouncer in transaction mode.
        database.setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": int(prepare_threshold)}
        )
    return database


DATABASES = {"default": database_from_env(f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_channel_layer(*hosts: dict) -> dict:
    """The Redis channel layer on `hosts` (addresses or Sentinel entries, one per shard), with
    the pool options every host needs."""
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    **host,
                    "max_connections": 1000,
                    "socket_connect_timeout": 2,
                    # Longer than the layer's blocking read (channels-redis 4.3 waits up to 5 s
                    # in BZPOPMIN): redis-py 8's default of 5 s cut every idle read, and after
                    # its retries an idle layer looked lost every 15 s.
                    "socket_timeout": 10,
                    "socket_keepalive": True,
                    # Pooled connections are checked before reuse, and a failed command is
                    # retried on a fresh one: the first handshake after a Redis restart works.
                    "health_check_interval": 10,
                    "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                    "retry_on_error": [RedisConnectionError, RedisTimeoutError],
                }
                for host in hosts
            ],
            # One chat message is one layer message per server process (chat/runtime/), so
            # this is the backlog a process may fall behind by before the layer drops.
            "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000),
            "expiry": 60,
        },
    }


# Redis, one server or several (README, Scaling out). Every Redis role (channel layer, chat
# state, throttles) is a list of shard addresses (educa/redis.py): each channel, group and key
# lives on one shard. REDIS_URLS (comma-separated) wins over REDIS_URL, a list of one.
REDIS_URL = env("REDIS_URL", default="")
REDIS_URLS = env.list("REDIS_URLS", default=[REDIS_URL] if REDIS_URL else [])
# Redis Sentinel instead: "sentinel-1:26379,sentinel-2:26379" and the master names, one per
# shard ("educa" or "educa-1,educa-2"). Every role then finds each master through Sentinel, so
# after a failover new commands go to the new master without a restart. Wins over the URLs.
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=[])
REDIS_SENTINEL_MASTER = env.list("REDIS_SENTINEL_MASTER", default=["educa"])
REDIS_SHARDS = (
    [sentinel_address(master) for master in REDIS_SENTINEL_MASTER]
    if REDIS_SENTINELS
    else REDIS_URLS
)
if REDIS_SHARDS:
    CHANNEL_LAYERS = {
        "default": redis_channel_layer(
            *(layer_host(address, sentinels=REDIS_SENTINELS) for address in REDIS_SHARDS)
        )
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# One or several servers, comma-separated ("10.0.0.1:11211,10.0.0.2:11211"): pymemcache hashes
# keys over them. Cached course content is keyed on versions kept in the database
# (courses/cache.py), so entries never need deleting and the timeout only frees memory.
MEMCACHED_LOCATION = env.list("MEMCACHED_LOCATION", default=[])
MEMCACHED_OPTIONS = {
    # A dead Memcached must make pages slower, never failing: errors become misses, and
    # educa.cache_backends logs a warning when a server stops (and starts) answering.
    "ignore_exc": True,
    "connect_timeout": 0.2,
    "timeout": 0.2,
    "use_pooling": True,
    "max_pool_size": 32,
    # After 2 failed tries 1 s apart a server is left alone for 10 s, then tried again: pages
    # do not wait on a dead server, and caching resumes by itself when it is back.
    "retry_attempts": 2,
    "retry_timeout": 1,
    "dead_timeout": 10,
}
CACHE_TIMEOUT = env.int("CACHE_TIMEOUT", default=24 * 3600)
# Seconds a course's analytics (courses/analytics.py) are shown before they are computed again;
# nothing invalidates them sooner.
ANALYTICS_CACHE_SECONDS = env.int("ANALYTICS_CACHE_SECONDS", default=60)
# Cached pages and fragments are keyed on data versions, not on how the code renders them: bump
# this when rendering changes (2: Markdown overviews, shifted headings), so entries rendered by
# the previous release are never served by this one. 3: a module's cached contents keep their
# quiz rows, and cached modules their quiz_count.
CACHE_RENDERING_VERSION = 3
if MEMCACHED_LOCATION:
    CACHES = {
        "default": {
            "BACKEND": "educa.cache_backends.PyMemcacheCache",
            "LOCATION": MEMCACHED_LOCATION,
            "OPTIONS": MEMCACHED_OPTIONS,
            "TIMEOUT": CACHE_TIMEOUT,
            "VERSION": CACHE_RENDERING_VERSION,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "educa.cache_backends.LocMemCache",
            "TIMEOUT": CACHE_TIMEOUT,
            "VERSION": CACHE_RENDERING_VERSION,
        }
    }
# API and e-mail throttles (educa/ratelimit.py): in Redis (shard addresses, comma-separated),
# shared by every process and kept across their restarts; "" = per process. Never Memcached,
# whose outage would switch them off.
THROTTLE_REDIS_URL = ",".join(REDIS_SHARDS)

# Sessions outlive a cache restart.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# django-axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend's permissions in one query instead of two; ModelBackend still logs users in.
    "educa.auth_backends.PermissionsBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "student_course_list"
LOGOUT_REDIRECT_URL = "course_list"

# Client addresses (log-in lock-out, e-mail throttles; educa/client_ip.py): the number of HTTP
# proxies in front of Django that add the address they saw to X-Forwarded-For. 0: REMOTE_ADDR,
# the header ignored, so no client can choose its address. Right behind Educa's Nginx, which
# hands uWSGI the client's address as REMOTE_ADDR (uwsgi_params) and Daphne reads it with
# --proxy-headers; 1 for a server that sees only the proxy's own address.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)

# Log-in brute force (django-axes): failures counted in the database, so that a cache outage
# does not switch the lock-out off, per username *and* client address, so that an attacker
# locks out neither everyone behind one proxy nor the real user elsewhere.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# The cool-off runs from the lock-out: attempts while locked out do not prolong it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "educa.client_ip.client_ip_address"
AXES_LOCKOUT_CALLABLE = "students.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429

# Registration and password-reset e-mails, per address and per client address ("<n>/<period>").
EMAIL_THROTTLE_PER_ADDRESS = env("EMAIL_THROTTLE_PER_ADDRESS", default="3/h")
EMAIL_THROTTLE_PER_CLIENT = env("EMAIL_THROTTLE_PER_CLIENT", default="10/h")

# Headers. Our pages load scripts and styles from /static/ only (no inline code), so the policy
# needs no 'unsafe-inline'; video players are the only frames.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Swagger UI's icons are data: SVGs; an image cannot run script.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        # 'self' covers the chat's ws:/wss: on the same host.
        "connect-src": ["'self'"],
        "frame-src": [
            "https://www.youtube-nocookie.com",
            "https://www.youtube.com",
            "https://player.vimeo.com",
        ],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
# Compiled by `make messages` (the .mo files are not in git).
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates print in each language's own way ({{ value|date:"DATE_FORMAT" }}); educa/formats holds
# where the project's differ from Django's.
FORMAT_MODULE_PATH = ["educa.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")

# Course uploads: the real cap; Nginx's client_max_body_size sits 1 MiB above it.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Largest course image, in pixels, read from its header before it is decoded (about 4 bytes a
# pixel once decoded: 25 megapixels is 100 MB of a worker's memory).
UPLOAD_MAX_IMAGE_PIXELS = env.int("UPLOAD_MAX_IMAGE_PIXELS", default=25_000_000)
# Set in production so that Nginx sends course files after Django's permission check.
MEDIA_ACCEL_REDIRECT_PREFIX = env("MEDIA_ACCEL_REDIRECT_PREFIX", default="")

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Educa <noreply@educa.local>")
# scheme://host[:port] that starts every link in e-mails; empty: the first of ALLOWED_HOSTS,
# over https when SECURE_SSL_REDIRECT is on (educa/site.py).
SITE_URL = env("SITE_URL", default="")

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a request without credentials a 401.
    # Sessions serve the browser, with CSRF enforced; no HTTP Basic.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "educa.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "educa.api.JSONParser",  # strict: any nesting depth, non-finite numbers are 400s
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["educa.api.AnonThrottle", "educa.api.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # "<count>/<period>" as CHAT_RATE_LIMIT; raised by benchmarks, strict by default.
        "anon": env("API_THROTTLE_ANON", default="60/m"),
        "user": env("API_THROTTLE_USER", default="300/m"),
        "token": env("API_THROTTLE_TOKEN", default="5/m"),
    },
    "EXCEPTION_HANDLER": "educa.api.exception_handler",
    "DEFAULT_METADATA_CLASS": "educa.api.Metadata",
    "DEFAULT_SCHEMA_CLASS": "educa.api_schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Educa API",
    "DESCRIPTION": (
        "Courses, enrollment, progress, course chat history and the instructor's write API. "
        "Authenticate with `Authorization: Token <key>` (POST /api/token/) or, in the browser, "
        "the session cookie with the CSRF token. Errors are JSON: `message`, `code`, and for "
        "invalid input `errors` by field name."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ContentKindEnum": "courses.models.CONTENT_MODELS",
        "QuestionKindEnum": "courses.models.Question.Kind",
        "AttemptStatusEnum": "quizzes.models.Attempt.Status",
        "CourseStatusEnum": "courses.models.Course.Status",
    },
    # Swagger UI from drf-spectacular-sidecar under /static/: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Chat limits.
CHAT_MAX_LENGTH = env.int("CHAT_MAX_LENGTH", default=2000)
CHAT_RATE_LIMIT = env("CHAT_RATE_LIMIT", default="20/10s")
CHAT_FRAME_BUDGET = env("CHAT_FRAME_BUDGET", default="60/10s")
CHAT_MAX_SOCKETS_PER_USER = env.int("CHAT_MAX_SOCKETS_PER_USER", default=10)
# An author may delete their own message for this many seconds; the course owner always.
CHAT_DELETE_WINDOW = env.int("CHAT_DELETE_WINDOW", default=300)
# An author may edit their own message for this many seconds.
CHAT_EDIT_WINDOW = env.int("CHAT_EDIT_WINDOW", default=900)
# A mention still unread this many seconds after its message is e-mailed (send_mention_emails),
# at most one e-mail per member and room an hour.
CHAT_MENTION_EMAIL_DELAY = env.int("CHAT_MENTION_EMAIL_DELAY", default=600)
# Largest chat attachment; Nginx's client_max_body_size (from UPLOAD_MAX_BYTES) must be above it.
CHAT_ATTACHMENT_MAX_BYTES = env.int("CHAT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Uploads no message has used after this many seconds are removed by
# `manage.py chat_attachments_prune`.
CHAT_ATTACHMENT_UNUSED_TTL = env.int("CHAT_ATTACHMENT_UNUSED_TTL", default=24 * 3600)
# Presence, rate limits and socket counts shared by every server process: shard addresses,
# comma-separated (educa/redis.py); "" = per process.
CHAT_REDIS_URL = env("CHAT_REDIS_URL", default=",".join(REDIS_SHARDS))
# A process refreshes its presence every CHAT_HEARTBEAT seconds; entries of a crashed process
# expire after CHAT_PRESENCE_TTL and are reaped by the next heartbeat of another (<= 60 s).
CHAT_HEARTBEAT = env.float("CHAT_HEARTBEAT", default=15)
CHAT_PRESENCE_TTL = env.float("CHAT_PRESENCE_TTL", default=40)
# Each process compares its rooms with the database this often and sends what its sockets
# missed (layer over capacity, Redis down).
CHAT_RECONCILE_INTERVAL = env.float("CHAT_RECONCILE_INTERVAL", default=3)
# Seconds a room's change waits for an earlier one still on its way (several transactions
# commit and publish side by side) before the gap is read from the database.
CHAT_GAP_GRACE = env.float("CHAT_GAP_GRACE", default=0.1)
# A sender hears within this many seconds: its message, or `unavailable` (not confirmed).
CHAT_WRITE_TIMEOUT = env.float("CHAT_WRITE_TIMEOUT", default=2)
# On SIGTERM a Daphne process drains: its sockets finish what they received and are closed with
# 1012; it exits after at most this many seconds (below its supervisor's kill timeout).
CHAT_DRAIN_SECONDS = env.float("CHAT_DRAIN_SECONDS", default=10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"layer_over_capacity": {"()": "chat.log_filters.ChannelLayerOverCapacity"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Its over-capacity records are INFO: kept and raised to WARNING by the filter.
        "channels_redis.core": {"level": "INFO", "filters": ["layer_over_capacity"]},
        # DEBUG logs every cache hit and miss ("cache hit <key>"); warnings tell of outages.
        "educa.cache": {"level": env("CACHE_LOG_LEVEL", default="INFO")},
    },
}
