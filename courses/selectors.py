"""Reads about courses; the owner checks of the CMS live here and nowhere else."""

import math
from dataclasses import dataclass

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from educa.db import first_or_404

from .models import CONTENT_MODELS, Content, Course, Module, Question, Quiz, Subject, Text

# --- public catalogue -------------------------------------------------------------------------


def subject_list_with_course_counts() -> QuerySet[Subject]:
    """Every subject by title, each annotated with course_count (published courses)."""
    return Subject.objects.annotate(
        course_count=Count("courses", filter=Q(courses__status=Course.Status.PUBLISHED))
    ).order_by("title", "pk")


def subject_get(*, slug: str) -> Subject:
    """The subject with this slug; Http404 when there is none."""
    return first_or_404(Subject.objects.filter(slug=slug), _("No such subject."))


def course_list_published(*, subject: Subject | None = None, query: str = "") -> QuerySet[Course]:
    """Published courses, newest first, with subject and owner, annotated with module_count.

    `query` keeps the courses whose title or overview contains it (case-insensitive).
    """
    courses = Course.objects.filter(status=Course.Status.PUBLISHED)
    if subject is not None:
        courses = courses.filter(subject=subject)
    # PostgreSQL text cannot hold NUL: such a search would be a 500.
    query = query.replace("\x00", "").strip()
    if query:
        courses = courses.filter(Q(title__icontains=query) | Q(overview__icontains=query))
    # An aggregate drops Meta.ordering: the order is spelled out.
    return (
        courses.select_related("subject", "owner")
        .annotate(module_count=Count("modules"))
        .order_by("-created", "-id")
    )


def course_list_popular(*, subject_ids, per_subject: int = 3) -> dict[int, list[Course]]:
    """The most enrolled published courses of each subject, keyed by subject id (one query).

    Each course is annotated with student_count; ties go to the newer course.
    """
    ranked = (
        Course.objects.filter(status=Course.Status.PUBLISHED, subject_id__in=list(subject_ids))
        .annotate(student_count=Count("enrollments"))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("subject_id"),
                order_by=[F("student_count").desc(), F("created").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=per_subject)
        .order_by("subject_id", "rank")
    )
    popular = {subject_id: [] for subject_id in subject_ids}
    for course in ranked:
        popular[course.subject_id].append(course)
    return popular


def course_get_for_viewer(*, user, slug: str | None = None, course_id: int | None = None) -> Course:
    """The course page's course (by slug or id): published, or a draft its owner is looking at.

    Comes with subject, owner and its modules (in order); Http404 for anyone else.
    """
    courses = Course.objects.select_related("subject", "owner").prefetch_related(
        Prefetch("modules", queryset=Module.objects.order_by("order", "pk"))
    )
    courses = courses.filter(pk=course_id) if course_id is not None else courses.filter(slug=slug)
    course = courses.first()
    if course is None or not course_is_visible(user=user, course=course):
        raise Http404(_("No such course."))
    return course


def course_is_visible(*, user, course) -> bool:
    """True if the course's pages are for the user: it is published, or the user owns it.

    `course` is a Course or anything with is_published and owner_id (courses.cache.CourseStamp).
    """
    return course.is_published or course.owner_id == user.pk


# The course page's estimate of a course's length: its texts read at READING_WORDS_PER_MINUTE,
# plus a fixed figure for each video, image and file, whose real length the site cannot know.
READING_WORDS_PER_MINUTE = 200
MINUTES_PER_ITEM = {"video": 10, "image": 1, "file": 5, "quiz": 10}


@dataclass(frozen=True)
class CourseSummary:
    """What a course holds, as the course page tells a visitor before enrolling."""

    module_count: int
    content_counts: dict[str, int]  # kind -> contents, kinds present only, in CONTENT_MODELS order
    module_content_counts: dict[int, int]  # module id -> contents
    minutes: int  # the estimated length, rounded up


def course_summary(*, course: Course) -> CourseSummary:
    """The course's modules, its contents by kind and its estimated length (at most two queries).

    Precondition: the caller may see the course.
    """
    rows = Module.objects.filter(course=course).values_list(
        "pk", "contents__content_type__model", "contents__object_id"
    )
    module_content_counts: dict[int, int] = {}
    kind_counts = dict.fromkeys(CONTENT_MODELS, 0)
    text_ids = []
    for module_id, kind, object_id in rows:
        module_content_counts.setdefault(module_id, 0)
        if kind is None:  # a module without contents
            continue
        module_content_counts[module_id] += 1
        kind_counts[kind] += 1
        if kind == "text":
            text_ids.append(object_id)
    words = 0
    if text_ids:
        texts = Text.objects.filter(pk__in=text_ids).values_list("content", flat=True)
        words = sum(len(text.split()) for text in texts)
    minutes = words / READING_WORDS_PER_MINUTE + sum(
        MINUTES_PER_ITEM.get(kind, 0) * count for kind, count in kind_counts.items()
    )
    return CourseSummary(
        module_count=len(module_content_counts),
        content_counts={kind: count for kind, count in kind_counts.items() if count},
        module_content_counts=module_content_counts,
        minutes=math.ceil(minutes),
    )


# --- the instructor's own objects -------------------------------------------------------------


def course_list_for_owner(*, owner) -> QuerySet[Course]:
    """The owner's courses, newest first, with subject, annotated with module_count."""
    return (
        Course.objects.filter(owner=owner)
        .select_related("subject")
        .annotate(module_count=Count("modules"))
        .order_by("-created", "-id")
    )


def course_get_for_owner(*, owner, course_id: int) -> Course:
    """The course if `owner` owns it; Http404 for an unknown course or anyone else's."""
    return first_or_404(
        Course.objects.select_related("subject").filter(pk=course_id, owner=owner),
        _("No such course."),
    )


def course_get_for_analytics(*, user, course_id: int) -> Course:
    """The course if `user` owns it or is staff (staff see every course's analytics);
    Http404 for an unknown course or anyone else."""
    courses = Course.objects.select_related("subject").filter(pk=course_id)
    if not user.is_staff:
        courses = courses.filter(owner=user)
    return first_or_404(courses, _("No such course."))


def analytics_is_allowed(*, user) -> bool:
    """Who may open the analytics page at all: instructors (for their own courses) and staff."""
    return user.is_staff or user.has_perm("courses.view_course")


def module_get_for_owner(*, owner, module_id: int) -> Module:
    """The module, with its course, if `owner` owns the course; Http404 otherwise."""
    return first_or_404(
        Module.objects.select_related("course__subject").filter(pk=module_id, course__owner=owner),
        _("No such module."),
    )


def content_get_for_owner(*, owner, content_id: int) -> Content:
    """The content, with module and course, if `owner` owns the course; Http404 otherwise."""
    return first_or_404(
        Content.objects.select_related("module__course").filter(
            pk=content_id, module__course__owner=owner
        ),
        _("No such content."),
    )


def content_get_for_owner_by_item(*, owner, module_id: int, kind: str, item_id: int) -> Content:
    """The content showing item `item_id` of `kind` in the owner's module; Http404 otherwise.

    The item comes attached (`content.item` needs no further query).
    """
    if kind not in CONTENT_MODELS:
        raise Http404(_("No such kind of content."))
    content_type = ContentType.objects.get_by_natural_key("courses", kind)
    content = (
        Content.objects.select_related("module__course")
        .filter(
            module_id=module_id,
            module__course__owner=owner,
            content_type=content_type,
            object_id=item_id,
        )
        .first()
    )
    item = None
    if content is not None:
        item = content_type.model_class().objects.filter(pk=item_id).first()
    if item is None:
        raise Http404(_("No such content."))
    content.item = item
    return content


def module_list_for_course(*, course: Course) -> QuerySet[Module]:
    """The course's modules in order, each annotated with content_count and quiz_count."""
    quiz_type = ContentType.objects.get_for_model(Quiz)
    return (
        Module.objects.filter(course=course)
        .annotate(
            content_count=Count("contents"),
            quiz_count=Count("contents", filter=Q(contents__content_type=quiz_type)),
        )
        .order_by("order", "pk")
    )


def content_list_for_course(*, course: Course) -> QuerySet[Content]:
    """Every content of the course, by module order then content order, with their items.

    One query, then one per kind of item present, whatever the number of modules.
    """
    return (
        Content.objects.filter(module__course=course)
        .select_related("content_type")
        .prefetch_related("item")
        .order_by("module__order", "module_id", "order", "pk")
    )


def quiz_content_list_for_courses(*, course_ids) -> QuerySet[Content]:
    """The quiz contents of the courses, by course then in course order, each annotated with
    course_id and its quiz's quiz_title and attempts_allowed (one query)."""
    quiz = Quiz.objects.filter(pk=OuterRef("object_id"))
    return (
        Content.objects.filter(
            module__course_id__in=list(course_ids),
            content_type=ContentType.objects.get_for_model(Quiz),
        )
        .annotate(
            course_id=F("module__course_id"),
            quiz_title=Subquery(quiz.values("title")[:1]),
            attempts_allowed=Subquery(quiz.values("attempts_allowed")[:1]),
        )
        .order_by("module__course_id", "module__order", "module_id", "order", "pk")
    )


def content_titles_annotate(contents: QuerySet[Content]) -> QuerySet[Content]:
    """The contents, each annotated with `item_title` (its item's title) in the same query:
    no generic-relation lookups."""
    whens = []
    for kind in CONTENT_MODELS:
        items = apps.get_model("courses", kind).objects.filter(pk=OuterRef("object_id"))
        title = Subquery(items.values("title")[:1])
        whens.append(When(content_type__model=kind, then=title))
    return contents.annotate(item_title=Case(*whens, default=Value(""), output_field=CharField()))


def content_ids_for_module(*, module: Module) -> set[int]:
    """Ids of the module's contents (one query)."""
    return set(Content.objects.filter(module=module).values_list("pk", flat=True))


def content_list_for_module(*, module: Module) -> QuerySet[Content]:
    """The module's contents in order with their items: one query, then one per kind present."""
    return (
        Content.objects.filter(module=module)
        .select_related("content_type")
        .prefetch_related("item")
        .order_by("order", "pk")
    )


def quiz_questions_attach(contents: list[Content]) -> list[Content]:
    """Give each quiz item among the contents its questions in order as `question_list` (one
    query for all of them; none without quizzes). Precondition: the items are loaded."""
    quizzes = {c.item.pk: c.item for c in contents if c.kind == "quiz" and c.item is not None}
    if quizzes:
        for quiz in quizzes.values():
            quiz.question_list = []
        for question in Question.objects.filter(quiz_id__in=list(quizzes)).order_by("order"):
            quizzes[question.quiz_id].question_list.append(question)
    return contents
