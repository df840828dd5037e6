"""What every endpoint of the REST API shares: input parsing, errors, throttles, pagination,
OPTIONS answers.

Input is read strictly: a JSON body with nesting too deep or numbers out of range, a repeated
query parameter, a number for a string or text for a number, an id beyond the database's range
are 400s naming the field. Errors are JSON `{"message", "code"}`; invalid input adds
`"errors": {field: [messages]}`. Throttles count each client in a sliding window
(educa.ratelimit), in Redis when it is configured.
"""

import logging
import math
import re

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, metadata, pagination, parsers, serializers, status
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from educa.client_ip import client_ip_address
from educa.db import BIGINT_MAX
from educa.json_input import JSONInputError, json_loads_strict
from educa.ratelimit import StoreUnavailable, rate_parse, throttle_acquire

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY
REQUEST_REFUSED = _("The request has too many fields or files, or is too large.")
NOT_A_STRING = _("Not a valid string.")
NOT_A_WHOLE_NUMBER = _("A whole number is required.")
PARAMETER_REPEATED = _("Give this parameter once.")


# --- input ------------------------------------------------------------------------------------


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, reading with educa.json_input: any nesting depth, NaN, Infinity and
    numbers beyond a double's range are a 400 rather than an exception in the view."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_loads_strict(stream.read().decode(encoding))
        except UnicodeDecodeError:
            raise exceptions.ParseError(f"The body is not valid {encoding} text.") from None
        except JSONInputError as error:
            raise exceptions.ParseError(str(error)) from None


class StringOnlyMixin:
    """Refuses anything but a string: DRF's string fields turn numbers into text (`0` → "0")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(NOT_A_STRING, code="invalid")
        return super().to_internal_value(data)


class StrictCharField(StringOnlyMixin, serializers.CharField):
    pass


class StrictSlugField(StringOnlyMixin, serializers.SlugField):
    pass


class StrictURLField(StringOnlyMixin, serializers.URLField):
    pass


_WHOLE_NUMBER_TEXT = re.compile(r"-?[0-9]+")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, or ASCII digits in a query string or form.

    DRF's IntegerField also takes 1.0, "1.0", " 1", "+1", "1_000" and other scripts' digits.
    """

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        if not isinstance(data, str) or not _WHOLE_NUMBER_TEXT.fullmatch(data):
            raise serializers.ValidationError(NOT_A_WHOLE_NUMBER, code="invalid")
        if len(data) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        return int(data)


class IdField(StrictIntegerField):
    """An object's id: a whole number in the database's range."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=BIGINT_MAX, **kwargs)


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with the strict string fields for every model string field."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
    }


class QuerySerializer(serializers.Serializer):
    """Query parameters: each given at most once, and an empty value is a value (a blank
    `?ordering=` is refused, not read as absent, unless the field allows blanks)."""

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):
            repeated = {
                name: [PARAMETER_REPEATED] for name in self.fields if len(data.getlist(name)) > 1
            }
            if repeated:
                raise serializers.ValidationError(repeated)
            data = {name: data[name] for name in self.fields if name in data}
        return super().to_internal_value(data)


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
    default_detail = _("The service is briefly unavailable; try again shortly.")
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
    """Pages of `page_size` (1..100, default PAGE_SIZE) items; a `page_size` out of range or
    given twice is a 400, not quietly replaced."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        query = PageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        self._page_size = query.validated_data.get("page_size", self.page_size)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        return self._page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


class PageQuerySerializer(QuerySerializer):
    page = StrictCharField(required=False)  # a number or "last": DRF's paginator reads it
    page_size = StrictIntegerField(min_value=1, max_value=Pagination.max_page_size, required=False)


class Metadata(metadata.SimpleMetadata):
    """OPTIONS answers: the endpoint's name, description, renderers and parsers.

    The schema (/api/schema/) describes the bodies; DRF's introspection of a view's default
    serializer does not fit these view sets, which have one per action.
    """

    def determine_actions(self, request, view):
        return {}
