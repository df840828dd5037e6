"""Forms of the instructor CMS, and the parser of the ordering requests."""

from django import forms
from django.forms.models import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from educa.json_input import JSONInputError, json_loads_strict

from .models import (
    QUESTION_ANSWER_MAX_LENGTH,
    Course,
    File,
    Image,
    Module,
    Question,
    Quiz,
    Text,
    Video,
)
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


class QuizForm(forms.ModelForm):
    class Meta:
        model = Quiz
        fields = [
            "title", "instructions", "pass_mark", "attempts_allowed", "time_limit",
            "answers_shown", "shuffle_options",
        ]  # fmt: skip
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "title": _("Title"),
            "pass_mark": _("Pass mark (%)"),
            "time_limit": _("Time limit (minutes)"),
        }


OPTION_CORRECT_MARK = "*"
QUESTION_TEXT_MAX_LENGTH = 2000


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# The fields that apply to some kinds of question only; the page hides the others.
QUESTION_KIND_FIELDS = {
    "options": "single multiple",
    "partial_credit": "multiple",
    "correct_boolean": "true_false",
    "numeric_answer": "numeric",
    "tolerance": "numeric",
    "accepted_answers": "text",
}


class QuestionForm(forms.ModelForm):
    """One question; choice options and accepted answers are typed one per line."""

    options = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Single or multiple choice: one option per line; start the right ones with *."),
    )
    accepted_answers = forms.CharField(
        label=_("Accepted answers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Short text: one accepted answer per line (case and spaces around ignored)."),
    )
    correct_boolean = forms.NullBooleanField(
        label=_("The statement is"),
        required=False,
        widget=forms.Select(choices=[("", "—"), ("true", _("True")), ("false", _("False"))]),
        help_text=_("True or false questions."),
    )

    class Meta:
        model = Question
        fields = [
            "kind", "text", "points", "options", "partial_credit", "correct_boolean",
            "numeric_answer", "tolerance", "accepted_answers", "feedback",
        ]  # fmt: skip
        widgets = {
            "text": forms.Textarea(attrs={"rows": 2, "maxlength": QUESTION_TEXT_MAX_LENGTH}),
            "feedback": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "numeric_answer": _("Number questions: the expected value."),
            "tolerance": _("Number questions: how far off an answer may be and still count."),
            "feedback": _("Shown with the answers, when the quiz shows them."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.initial["options"] = "\n".join(
            (OPTION_CORRECT_MARK if option.get("correct") else "") + option["text"]
            for option in instance.options
        )
        self.initial["accepted_answers"] = "\n".join(instance.accepted_answers)
        self.fields["tolerance"].required = False
        for name, kinds in QUESTION_KIND_FIELDS.items():
            self.fields[name].kinds = kinds

    def clean_text(self):
        text = self.cleaned_data["text"]
        if len(text) > QUESTION_TEXT_MAX_LENGTH:
            raise forms.ValidationError(_("At most 2000 characters."))
        return text

    def clean_tolerance(self):
        return self.cleaned_data.get("tolerance") or 0

    def clean_options(self):
        # Options keep their ids across edits (matched by text), so a student's open attempt
        # and the API's option ids stay meaningful.
        known = {option["text"]: option["id"] for option in self.instance.options}
        next_id = max(known.values(), default=0) + 1
        options = []
        for line in _lines(self.cleaned_data["options"]):
            correct = line.startswith(OPTION_CORRECT_MARK)
            text = line.removeprefix(OPTION_CORRECT_MARK).strip()[:QUESTION_ANSWER_MAX_LENGTH]
            if not text or any(option["text"] == text for option in options):
                continue
            option_id = known.get(text)
            if option_id is None:
                option_id, next_id = next_id, next_id + 1
            options.append({"id": option_id, "text": text, "correct": correct})
        return options

    def clean_accepted_answers(self):
        return [
            line[:QUESTION_ANSWER_MAX_LENGTH]
            for line in _lines(self.cleaned_data["accepted_answers"])
        ]


QuestionFormSet = inlineformset_factory(
    Quiz,
    Question,
    form=QuestionForm,
    extra=1,
    can_delete=True,
    can_order=True,
    max_num=100,
    validate_max=True,
)


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
