"""What every endpoint of the REST API shares: errors, throttles, pagination, OPTIONS answers.

Errors are JSON `{"message", "code"}`; invalid input adds `"errors": {field: [messages]}`.
Throttles count each client in a sliding window (educa.ratelimit), in Redis when it is configured.
"""

import logging
import math

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, metadata, pagination, status
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from educa.client_ip import client_ip_address
from educa.ratelimit import StoreUnavailable, rate_parse, throttle_acquire

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY
REQUEST_REFUSED = "The request has too many fields or files, or is too large."


# --- errors -----------------------------------------------------------------------------------


def validation_error_from_django(error: DjangoValidationError) -> exceptions.ValidationError:
    """A service's ValidationError as DRF's, keeping the field names."""
    if hasattr(error, "error_dict"):
        detail = {
            (NON_FIELD_ERRORS if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    else:
        detail = {NON_FIELD_ERRORS: error.messages}
    return exceptions.ValidationError(detail)


def _first_message(errors) -> tuple[str | None, str]:
    """(field, message) of the first error in a DRF error structure."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            inner_field, message = _first_message(value)
            if field == NON_FIELD_ERRORS:
                return inner_field, message
            return (f"{field}.{inner_field}" if inner_field else str(field)), message
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return None, str(errors)


def _first_code(errors) -> str:
    if isinstance(errors, dict):
        return _first_code(next(iter(errors.values()), "invalid"))
    if isinstance(errors, list) and errors:
        return _first_code(errors[0])
    return getattr(errors, "code", None) or "invalid"


def exception_handler(exc, context):
    """DRF's handler with one body shape for every error (see the module docstring)."""
    # Imported here: rest_framework.views reads the settings that name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = validation_error_from_django(exc)
    elif isinstance(exc, SuspiciousOperation):
        # Django's limits on request bodies (too many fields or files, too large).
        exc = exceptions.ParseError(REQUEST_REFUSED)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {NON_FIELD_ERRORS: data}
        field, message = _first_message(errors)
        response.data = {
            "message": f"{field}: {message}" if field else message,
            "code": _first_code(exc.detail),
            "errors": errors,
        }
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"message": str(detail), "code": code}
    return response


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable; try again shortly."
    default_code = "unavailable"


# --- throttling -------------------------------------------------------------------------------


class RateThrottle(BaseThrottle):
    """A sliding window per client (`ident_for`), in Redis shared by every process.

    The rate ("<count>/<period>", educa.ratelimit) is the setting of `scope` in
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; a refused request is not counted.
    """

    scope = ""

    def ident_for(self, request) -> str | None:
        """Who is counted; None means this throttle does not apply to the request."""
        raise NotImplementedError

    def allow_request(self, request, view):
        ident = self.ident_for(request)
        if ident is None:
            return True
        rate = rate_parse(api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        try:
            self._wait = throttle_acquire(f"api:{self.scope}:{ident}", rate)
        except StoreUnavailable as error:
            # Throttles protect log-in: without their store they refuse rather than let all in.
            logger.error("API throttle store unavailable: %s", error)
            raise ServiceUnavailable() from error
        return not self._wait

    def wait(self):
        return max(1, math.ceil(self._wait))


def _client_ident(request) -> str:
    return client_ip_address(request) or "unknown"


class AnonThrottle(RateThrottle):
    """Requests without credentials, per client address (API_THROTTLE_ANON)."""

    scope = "anon"

    def ident_for(self, request):
        return None if request.user.is_authenticated else _client_ident(request)


class UserThrottle(RateThrottle):
    """Requests of a logged-in user, whatever the address (API_THROTTLE_USER)."""

    scope = "user"

    def ident_for(self, request):
        return str(request.user.pk) if request.user.is_authenticated else None


class TokenThrottle(RateThrottle):
    """Token requests (password guesses) per client address (API_THROTTLE_TOKEN)."""

    scope = "token"

    def ident_for(self, request):
        return _client_ident(request)


# --- pagination -------------------------------------------------------------------------------


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class Metadata(metadata.SimpleMetadata):
    """OPTIONS answers: the endpoint's name, description, renderers and parsers.

    The schema (/api/schema/) describes the bodies; DRF's introspection of a view's default
    serializer does not fit these view sets, which have one per action.
    """

    def determine_actions(self, request, view):
        return {}
