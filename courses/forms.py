"""Forms of the instructor CMS, and the parser of the ordering requests."""

from django import forms
from django.forms.models import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from educa.json_input import JSONInputError, json_loads_strict

from .models import Course, File, Image, Module, Text, Video
from .validators import RASTER_CONTENT_TYPES

ORDER_PAYLOAD_INVALID = _('Send a JSON object {"<id>": <position>, ...} of whole numbers.')
ORDER_PAYLOAD_MAX_ITEMS = 1000


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["subject", "title", "slug", "overview"]
        labels = {
            "subject": _("Subject"),
            "title": _("Title"),
            "slug": _("Slug"),
            "overview": _("Overview"),
        }
        help_texts = {"slug": _("The address of the course page; left blank, made from the title.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False


ModuleFormSet = inlineformset_factory(
    Course,
    Module,
    fields=["title", "description"],
    labels={"title": _("Title"), "description": _("Description")},
    widgets={"description": forms.Textarea(attrs={"rows": 2})},
    extra=1,
    can_delete=True,
    max_num=200,
    validate_max=True,
)


class TextForm(forms.ModelForm):
    class Meta:
        model = Text
        fields = ["title", "content"]
        labels = {"title": _("Title"), "content": _("Content")}
        help_texts = {"content": _("Markdown: **bold**, *italic*, lists, links, code, tables.")}


class VideoForm(forms.ModelForm):
    url = forms.URLField(
        label=_("Video link"),
        assume_scheme="https",
        max_length=200,
        help_text=_("A YouTube or Vimeo address."),
    )

    class Meta:
        model = Video
        fields = ["title", "url"]
        labels = {"title": _("Title")}


class ImageForm(forms.ModelForm):
    class Meta:
        model = Image
        fields = ["title", "file"]
        labels = {"title": _("Title"), "file": _("Image")}
        help_texts = {"file": _("PNG, JPEG, GIF or WebP.")}
        widgets = {
            "file": forms.FileInput(attrs={"accept": ",".join(RASTER_CONTENT_TYPES.values())})
        }


class FileForm(forms.ModelForm):
    class Meta:
        model = File
        fields = ["title", "file"]
        labels = {"title": _("Title"), "file": _("File")}
        widgets = {"file": forms.FileInput()}


CONTENT_FORMS: dict[str, type[forms.ModelForm]] = {
    "text": TextForm,
    "video": VideoForm,
    "image": ImageForm,
    "file": FileForm,
}


def order_payload_parse(body: bytes) -> dict[int, int]:
    """{id: position} from a request body of JSON {"<id>": <position>}; ValueError if malformed."""
    try:
        payload = json_loads_strict(body)
    except JSONInputError:
        raise ValueError(ORDER_PAYLOAD_INVALID) from None
    if not isinstance(payload, dict) or not 0 < len(payload) <= ORDER_PAYLOAD_MAX_ITEMS:
        raise ValueError(ORDER_PAYLOAD_INVALID)
    orders = {}
    for key, position in payload.items():
        # bool is an int in Python, and JSON true is no position; 18 digits fit a bigint id.
        valid_key = key.isascii() and key.isdigit() and len(key) <= 18
        if not valid_key or type(position) is not int or position < 0:
            raise ValueError(ORDER_PAYLOAD_INVALID)
        orders[int(key)] = position
    return orders
