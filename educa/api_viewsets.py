"""The base of the API's view sets: path ids, refused with 400 beyond the database's range.

Apart from educa.api because rest_framework.views, imported here, reads the settings that name
educa.api's parser.
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, viewsets

from educa.db import BIGINT_MAX

ID_OUT_OF_RANGE = format_lazy(_("Ensure this id is at most {maximum}."), maximum=BIGINT_MAX)


class IdConverter:
    """A path id: digits. One longer than any bigint becomes BIGINT_MAX + 1, never converted
    (int() refuses over 4,300 digits), so that the view refuses it like any id out of range."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value) if len(value) <= len(str(BIGINT_MAX)) else BIGINT_MAX + 1

    def to_url(self, value) -> str:
        return str(value)


class ViewSet(viewsets.GenericViewSet):
    """A view set whose path ids (`<id:pk>`, IdConverter) are refused with 400 beyond the
    database's range."""

    lookup_value_converter = "id"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if kwargs.get("pk", 0) > BIGINT_MAX:
            raise serializers.ValidationError({"id": [ID_OUT_OF_RANGE]})
