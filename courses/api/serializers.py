"""Shapes of the courses API. Read serializers render; write serializers only validate input,
which the views hand to courses.services (model-field validators included, as in the CMS)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from educa.api import IdField, ModelSerializer, StrictCharField, StrictURLField

from ..models import (
    CONTENT_MODELS,
    QUESTION_ANSWER_MAX_LENGTH,
    QUESTION_MAX_OPTIONS,
    Content,
    Course,
    File,
    Image,
    Module,
    Question,
    Quiz,
    Subject,
    Text,
    Video,
)


def absolute(request, path: str) -> str:
    return request.build_absolute_uri(path)


# --- read -------------------------------------------------------------------------------------


class SubjectRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subject
        fields = ["id", "title", "slug"]


class OwnerSerializer(serializers.Serializer):
    username = serializers.CharField(source="get_username")
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class CourseLinksMixin(serializers.Serializer):
    url = serializers.SerializerMethodField(help_text="This course in the API.")
    page_url = serializers.SerializerMethodField(help_text="The course's web page.")

    def get_url(self, course) -> str:
        return absolute(self.context["request"], reverse("api:course-detail", args=[course.pk]))

    def get_page_url(self, course) -> str:
        return absolute(self.context["request"], course.get_absolute_url())


class PopularCourseSerializer(CourseLinksMixin, serializers.ModelSerializer):
    student_count = serializers.IntegerField(help_text="Enrolled students.")

    class Meta:
        model = Course
        fields = ["id", "title", "slug", "student_count", "url", "page_url"]


class SubjectSerializer(serializers.ModelSerializer):
    course_count = serializers.IntegerField(help_text="Published courses.")
    popular_courses = serializers.SerializerMethodField(
        help_text="The three published courses with the most students."
    )

    class Meta:
        model = Subject
        fields = ["id", "title", "slug", "course_count", "popular_courses"]

    @extend_schema_field(PopularCourseSerializer(many=True))
    def get_popular_courses(self, subject):
        courses = self.context["popular"].get(subject.pk, [])
        return PopularCourseSerializer(courses, many=True, context=self.context).data


class CourseListSerializer(CourseLinksMixin, serializers.ModelSerializer):
    subject = SubjectRefSerializer()
    owner = OwnerSerializer()
    module_count = serializers.IntegerField()

    class Meta:
        model = Course
        fields = [
            "id", "title", "slug", "overview", "created", "subject", "owner", "module_count",
            "url", "page_url",
        ]  # fmt: skip


class ModuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Module
        fields = ["id", "title", "description", "order"]


class CourseDetailSerializer(CourseListSerializer):
    modules = ModuleSerializer(many=True)
    module_count = serializers.SerializerMethodField()

    class Meta(CourseListSerializer.Meta):
        fields = [*CourseListSerializer.Meta.fields, "status", "modules"]

    def get_module_count(self, course) -> int:
        return len(course.modules.all())


# --- contents, one shape per kind -------------------------------------------------------------


class ContentBaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The content's id (for /api/contents/<id>/...).")
    kind = serializers.ChoiceField(choices=CONTENT_MODELS)
    title = serializers.CharField()
    module = serializers.IntegerField(help_text="The module's id.")
    order = serializers.IntegerField(help_text="Its position in the module, from 0.")


class TextContentSerializer(ContentBaseSerializer):
    html = serializers.CharField(help_text="The Markdown rendered to sanitized HTML.")


class VideoContentSerializer(ContentBaseSerializer):
    url = serializers.URLField()
    embed_url = serializers.URLField(allow_null=True, help_text="The player to embed.")


class ImageContentSerializer(ContentBaseSerializer):
    url = serializers.URLField(help_text="The image, for the course's members only.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


class FileContentSerializer(ContentBaseSerializer):
    url = serializers.URLField(help_text="The file, for the course's members only.")
    size = serializers.IntegerField(allow_null=True, help_text="Bytes (null if it is missing).")


_OWNER_ONLY = "Only in the instructor's view (GET /api/contents/<id>/)."


class QuizOptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    correct = serializers.BooleanField(required=False, help_text=_OWNER_ONLY)


# What every view of a question shows: the quiz's (below) and an attempt's (quizzes.api). A
# comment, not a docstring: drf-spectacular would print a docstring into both schemas.
class QuestionBaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    text = serializers.CharField()
    points = serializers.IntegerField()


class QuizQuestionSerializer(QuestionBaseSerializer):
    options = QuizOptionSerializer(many=True, help_text="Choice questions; else empty.")
    feedback = serializers.CharField(required=False, help_text=_OWNER_ONLY)
    partial_credit = serializers.BooleanField(required=False, help_text=_OWNER_ONLY)
    correct_boolean = serializers.BooleanField(
        required=False, allow_null=True, help_text=_OWNER_ONLY
    )
    numeric_answer = serializers.FloatField(required=False, allow_null=True, help_text=_OWNER_ONLY)
    tolerance = serializers.FloatField(required=False, help_text=_OWNER_ONLY)
    accepted_answers = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=_OWNER_ONLY
    )


class QuizContentSerializer(ContentBaseSerializer):
    html = serializers.CharField(help_text="The instructions rendered to sanitized HTML.")
    instructions = serializers.CharField(required=False, help_text=f"Markdown. {_OWNER_ONLY}")
    pass_mark = serializers.IntegerField(help_text="Percent of the points needed to pass.")
    attempts_allowed = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    time_limit = serializers.IntegerField(allow_null=True, help_text="Minutes, or null.")
    answers_shown = serializers.ChoiceField(choices=Quiz.AnswersShown.choices)
    shuffle_options = serializers.BooleanField()
    questions = QuizQuestionSerializer(
        many=True,
        help_text=(
            "In the quiz's order; students see no answer or feedback here (their attempts "
            "show them when the quiz allows)."
        ),
    )


CONTENT_SHAPES = {
    "text": TextContentSerializer,
    "video": VideoContentSerializer,
    "image": ImageContentSerializer,
    "file": FileContentSerializer,
    "quiz": QuizContentSerializer,
}

ContentSchema = PolymorphicProxySerializer(
    component_name="Content",
    serializers=CONTENT_SHAPES,
    resource_type_field_name="kind",
    many=False,
)
ContentListSchema = PolymorphicProxySerializer(
    component_name="Content",
    serializers=CONTENT_SHAPES,
    resource_type_field_name="kind",
    many=True,
)


def _file_size(item) -> int | None:
    try:
        return item.file.size
    except (OSError, ValueError):
        return None


def quiz_question_data(question: Question, *, full: bool) -> dict:
    """A question as JSON; with its answers and feedback only when `full` (its instructor)."""
    data = {
        "id": question.pk,
        "kind": question.kind,
        "text": question.text,
        "points": question.points,
        "options": [
            {"id": o["id"], "text": o["text"], **({"correct": o["correct"]} if full else {})}
            for o in question.options
        ],
    }
    if full:
        data.update(
            feedback=question.feedback,
            partial_credit=question.partial_credit,
            correct_boolean=question.correct_boolean,
            numeric_answer=question.numeric_answer,
            tolerance=question.tolerance,
            accepted_answers=question.accepted_answers,
        )
    return data


def _quiz_data(quiz: Quiz, *, full: bool) -> dict:
    questions = getattr(quiz, "question_list", None)
    if questions is None:
        questions = list(quiz.questions.all())
    data = {
        "html": str(quiz.html),
        "pass_mark": quiz.pass_mark,
        "attempts_allowed": quiz.attempts_allowed,
        "time_limit": quiz.time_limit,
        "answers_shown": quiz.answers_shown,
        "shuffle_options": quiz.shuffle_options,
        "questions": [quiz_question_data(question, full=full) for question in questions],
    }
    if full:
        data["instructions"] = quiz.instructions
    return data


def content_data(content: Content, request, *, full: bool = False) -> dict:
    """The content as JSON, in the shape of its kind (precondition: its item is loaded).

    A quiz's answers are in it only with `full`, for the course's instructor: what students
    read (the course's contents) never has them.
    """
    item, kind = content.item, content.kind
    data = {
        "id": content.pk,
        "kind": kind,
        "title": item.title if item is not None else "",
        "module": content.module_id,
        "order": content.order,
    }
    if item is None:
        return data
    if kind == "text":
        data["html"] = str(item.html)
    elif kind == "video":
        data.update(url=item.url, embed_url=item.embed_url)
    elif kind == "quiz":
        data.update(_quiz_data(item, full=full))
    else:
        data["url"] = absolute(request, reverse("content_file", args=[content.pk]))
        if kind == "image":
            data.update(width=item.width, height=item.height)
        else:
            data["size"] = _file_size(item)
    return data


class ModuleContentsSerializer(ModuleSerializer):
    contents = serializers.SerializerMethodField()

    class Meta(ModuleSerializer.Meta):
        fields = [*ModuleSerializer.Meta.fields, "contents"]

    @extend_schema_field(ContentListSchema)
    def get_contents(self, module):
        contents = self.context["contents_by_module"].get(module.pk, [])
        return [content_data(content, self.context["request"]) for content in contents]


class CourseContentsSerializer(serializers.ModelSerializer):
    modules = ModuleContentsSerializer(many=True, source="modules_in_order")

    class Meta:
        model = Course
        fields = ["id", "title", "slug", "version", "modules"]


# --- write ------------------------------------------------------------------------------------


class CourseWriteSerializer(ModelSerializer):
    subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.all(), pk_field=IdField())

    class Meta:
        model = Course
        fields = ["subject", "title", "slug", "overview"]
        extra_kwargs = {
            "slug": {
                "required": False,
                "allow_blank": True,
                "help_text": "The course page's address; blank or left out: made from the title.",
            }
        }


class CourseOwnedSerializer(CourseDetailSerializer):
    """A course as its instructor sees it after a change."""

    class Meta(CourseDetailSerializer.Meta):
        fields = [*CourseDetailSerializer.Meta.fields, "version"]


class ModuleWriteSerializer(ModelSerializer):
    class Meta:
        model = Module
        fields = ["title", "description"]


class ModuleOwnedSerializer(ModuleSerializer):
    course = serializers.IntegerField(source="course_id", read_only=True)

    class Meta(ModuleSerializer.Meta):
        fields = [*ModuleSerializer.Meta.fields, "course"]


class OrderSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=IdField(),
        min_length=1,
        max_length=1000,
        help_text="Ids in their new order; any left out keep their relative order after them.",
    )

    def validate_ids(self, ids):
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError(ID_REPEATED)
        return ids


ID_REPEATED = _("An id appears more than once.")
FIELD_OF_ANOTHER_KIND = _("A %(kind)s content has no %(field)s.")


class ItemSerializer(ModelSerializer):
    """A content item's fields; one of another kind's (a text's `url`) is refused, not ignored."""

    def to_internal_value(self, data):
        other_kinds_fields = {
            field for serializer in ITEM_SERIALIZERS.values() for field in serializer.Meta.fields
        } - set(self.Meta.fields)
        kind = self.Meta.model._meta.model_name
        errors = {
            field: [FIELD_OF_ANOTHER_KIND % {"kind": kind, "field": field}]
            for field in sorted(other_kinds_fields & set(data))
        }
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# Per kind, the item fields an instructor sends (with the model's validators).
class TextItemSerializer(ItemSerializer):
    class Meta:
        model = Text
        fields = ["title", "content"]


class VideoItemSerializer(ItemSerializer):
    class Meta:
        model = Video
        fields = ["title", "url"]


class ImageItemSerializer(ItemSerializer):
    class Meta:
        model = Image
        fields = ["title", "file"]


class FileItemSerializer(ItemSerializer):
    class Meta:
        model = File
        fields = ["title", "file"]


class QuizOptionWriteSerializer(serializers.Serializer):
    id = IdField(required=False, help_text="Kept if given; new options get the next free id.")
    text = StrictCharField(max_length=QUESTION_ANSWER_MAX_LENGTH)
    correct = serializers.BooleanField(default=False)


class QuizQuestionWriteSerializer(ModelSerializer):
    options = QuizOptionWriteSerializer(many=True, required=False, max_length=QUESTION_MAX_OPTIONS)
    accepted_answers = serializers.ListField(
        child=StrictCharField(max_length=QUESTION_ANSWER_MAX_LENGTH), required=False, max_length=50
    )
    numeric_answer = serializers.FloatField(required=False, allow_null=True)
    tolerance = serializers.FloatField(required=False, min_value=0)

    class Meta:
        model = Question
        fields = [
            "kind", "text", "points", "feedback", "options", "partial_credit",
            "correct_boolean", "numeric_answer", "tolerance", "accepted_answers",
        ]  # fmt: skip

    def validate(self, attrs):
        options, next_id = [], max((o.get("id", 0) for o in attrs.get("options", [])), default=0)
        for option in attrs.get("options", []):
            if "id" not in option:
                next_id += 1
            options.append({"id": option.get("id", next_id), **option})
        if len({option["id"] for option in options}) != len(options):
            raise serializers.ValidationError({"options": [_("Option ids must differ.")]})
        attrs["options"] = options
        try:
            Question(**attrs).clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


class QuizItemSerializer(ItemSerializer):
    questions = QuizQuestionWriteSerializer(
        many=True,
        required=False,
        max_length=100,
        help_text="Given, they replace all the quiz's questions (attempts keep their copies).",
    )

    class Meta:
        model = Quiz
        fields = [
            "title", "instructions", "pass_mark", "attempts_allowed", "time_limit",
            "answers_shown", "shuffle_options", "questions",
        ]  # fmt: skip


ITEM_SERIALIZERS = {
    "text": TextItemSerializer,
    "video": VideoItemSerializer,
    "image": ImageItemSerializer,
    "file": FileItemSerializer,
    "quiz": QuizItemSerializer,
}


class ContentWriteSerializer(serializers.Serializer):
    """What the content endpoints accept (JSON, or multipart for files and images).

    `kind` picks which other fields apply: text (`title`, `content`), video (`title`, `url`),
    image and file (`title`, `file`), quiz (`title`, its settings and `questions`).
    """

    kind = serializers.ChoiceField(choices=CONTENT_MODELS)
    title = StrictCharField(max_length=250)
    content = StrictCharField(required=False, help_text="Text: Markdown.")
    url = StrictURLField(required=False, help_text="Video: a YouTube or Vimeo link.")
    file = serializers.FileField(required=False, help_text="Image or file: the upload.")
    instructions = StrictCharField(required=False, help_text="Quiz: Markdown.")
    pass_mark = serializers.IntegerField(required=False, help_text="Quiz: percent, 0 to 100.")
    attempts_allowed = serializers.IntegerField(
        required=False, allow_null=True, help_text="Quiz: 1 to 10, or null for unlimited."
    )
    time_limit = serializers.IntegerField(
        required=False, allow_null=True, help_text="Quiz: minutes, or null."
    )
    answers_shown = serializers.ChoiceField(
        choices=Quiz.AnswersShown.choices, required=False, help_text="Quiz."
    )
    shuffle_options = serializers.BooleanField(required=False, help_text="Quiz.")
    questions = QuizQuestionWriteSerializer(
        many=True, required=False, help_text="Quiz: replaces all its questions."
    )


class ContentUpdateSerializer(ContentWriteSerializer):
    kind = serializers.ChoiceField(
        choices=CONTENT_MODELS, required=False, help_text="If given, the content's own kind."
    )
    title = StrictCharField(max_length=250, required=False)
