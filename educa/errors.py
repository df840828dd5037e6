"""The error handlers: pages in the site's layout saying why, and a database outage as 503.

The 403 handler names the course a non-member tried to open, so its page can link there to
enroll. API errors never reach these handlers' pages: DRF answers them in JSON itself.

The 500 handler: a database outage answers 503 with a retry hint instead of a bare 500.

A handler rather than a middleware because the database is also read by other middleware
(sessions, authentication, django-axes) and by DRF's authentication and throttles; exceptions
raised there never reach a middleware's `process_exception`, while every uncaught exception
ends here (with DEBUG off). Nothing here may touch the database: it is the thing that failed.
"""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.template import loader
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views import defaults

logger = logging.getLogger(__name__)

# What psycopg raises when the server is down, restarting or dropped the connection.
DATABASE_DOWN = (OperationalError, InterfaceError)
UNAVAILABLE_MESSAGE = _("The service is briefly unavailable; try again in a few seconds.")
RETRY_AFTER_SECONDS = 5

UNAVAILABLE_TITLE = _("Service unavailable")
# Not a template: rendering must not depend on anything that could be down with the database.
UNAVAILABLE_PAGE = """<!DOCTYPE html>
<html lang="{language}">
<head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p></body>
</html>
"""


def server_error(request):
    """handler500: 503 (HTML, or JSON under /api/) for a database outage, else Django's 500."""
    error = sys.exc_info()[1]
    if not isinstance(error, DATABASE_DOWN):
        return defaults.server_error(request)
    logger.warning("Database unavailable, answering 503: %s", error)
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": UNAVAILABLE_MESSAGE, "code": "unavailable"}, status=503)
    else:
        page = UNAVAILABLE_PAGE.format(
            language=get_language() or settings.LANGUAGE_CODE,
            title=escape(UNAVAILABLE_TITLE),
            message=escape(UNAVAILABLE_MESSAGE),
        )
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def permission_denied(request, exception):
    """handler403: Django's, with the refused course (if any) for the page to link to."""
    context = {"exception": str(exception), "course": getattr(exception, "course", None)}
    return HttpResponseForbidden(loader.render_to_string("403.html", context, request))
