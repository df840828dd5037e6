"""Shared parts of the OpenAPI schema: error bodies, and the error responses of each operation."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from educa.db import BIGINT_MAX


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    message = serializers.CharField()
    code = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text=(
            "By field name (`non_field_errors`: the request as a whole), a list of messages; for "
            "an item of a list field, an object of item index to messages. Absent when the body "
            "could not be parsed at all."
        ),
    )


# --- schema -----------------------------------------------------------------------------------

_ERROR_DESCRIPTIONS = {
    "400": "Invalid input (an id out of range included): `errors` names each field.",
    "401": "No valid credentials (a token, or a session).",
    "403": "Not allowed (a non-member, a student on the instructor API, or no CSRF token).",
    "404": "Unknown, unpublished or someone else's object, or a page beyond the last.",
    "415": "The body is not JSON, form data or multipart.",
    "429": "Throttled: retry after the number of seconds in the Retry-After header.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema with the error responses every operation can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "403", "429"]
        if self._has_input():
            codes.append("400")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        for code in codes:
            if code in responses:
                continue
            serializer = ValidationErrorSerializer if code == "400" else ErrorSerializer
            response = self._get_response_for_code(serializer, code, direction=direction)
            response["description"] = _ERROR_DESCRIPTIONS[code]
            if code == "429":
                response["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "description": "Seconds to wait before the next request.",
                    }
                }
            responses[code] = response
        return responses

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id":  # educa.api.IdConverter
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}
        return parameters

    def _has_input(self) -> bool:
        if self.method in ("POST", "PUT", "PATCH") or "{id}" in self.path:
            return True
        parameters = self._get_parameters()
        return any(parameter.get("in") == "query" for parameter in parameters)
