"""What a client locked out by django-axes is told, on the HTML log-ins and on the API.

django-axes counts failed log-ins in the database (its default handler), per username and
client address (educa.client_ip), and flags the request once the limit is reached; its
middleware then swaps the view's answer for `lockout_response`.
"""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

LOCKED_OUT = _(
    "Too many failed log-ins for this username from your network. "
    "Wait %(minutes)d minutes, then try again, or reset your password."
)


def _api_request(request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path_info.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def lockout_response(request, original_response=None, credentials=None):
    """HTTP 429 with a Retry-After: the API's JSON error body for API clients, a page for people."""
    seconds = int(get_cool_off(request).total_seconds())
    message = LOCKED_OUT % {"minutes": math.ceil(seconds / 60)}
    status = settings.AXES_HTTP_RESPONSE_CODE
    if _api_request(request):
        response = JsonResponse({"message": message, "code": "locked_out"}, status=status)
    else:
        context = {"message": message}
        response = render(request, "registration/locked_out.html", context, status=status)
    response["Retry-After"] = str(seconds)
    return response


def lockout_flag_on_django_request(sender, request, **kwargs):
    """Receiver of axes' user_locked_out: carry the flag from a DRF request to Django's.

    DRF views pass their own Request to authenticate(); axes marks that object, but its
    middleware only sees the HttpRequest underneath, and would otherwise let the view's 400 out.
    """
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.axes_locked_out = True
        django_request.axes_credentials = getattr(request, "axes_credentials", None)
