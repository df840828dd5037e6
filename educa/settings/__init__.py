"""Settings modules: `base` (shared), `local`, `test` and `prod` (see README, Configuration)."""

import sys
from contextlib import contextmanager

# uWSGI's status for "the application failed to load": with `need-app` its master then stops
# instead of respawning the worker (with lazy-apps a worker loads Django after the fork).
UWSGI_FAILED_APP_CODE = 22


@contextmanager
def refusal_in_one_line():
    """Turn a settings module's refusal to load (ImproperlyConfigured) into one line on stderr
    and a failed exit: a production variable left unset is a message, not a traceback.

    Entry points wrap Django's start-up in it; once the settings are loaded, ImproperlyConfigured
    is someone else's error and keeps its traceback.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        yield
    except ImproperlyConfigured as error:
        if settings.configured:
            raise
        print(error, file=sys.stderr, flush=True)
        # uWSGI puts its embedded `uwsgi` module in sys.modules before loading the application.
        sys.exit(UWSGI_FAILED_APP_CODE if "uwsgi" in sys.modules else 1)
