"""Reads about students: membership, enrollments and progress."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404

from courses.models import Content, Course, Module

from .models import ContentCompletion, Enrollment


@dataclass(frozen=True)
class Progress:
    """How much of a course one student has done."""

    done: int
    total: int

    @property
    def percent(self) -> int:
        # Rounded down, so that 100 means every content is done.
        return self.done * 100 // self.total if self.total else 0


def _percent_expression(done: str, total: str):
    """The database twin of Progress.percent over two integer annotations."""
    return Coalesce(F(done) * 100 / NullIf(F(total), 0), 0, output_field=IntegerField())


def _count(queryset: QuerySet):
    """A correlated COUNT(*) subquery that is 0, not NULL, when nothing matches."""
    counted = queryset.order_by().annotate(
        n=Func(F("pk"), function="COUNT", output_field=IntegerField())
    )
    return Coalesce(Subquery(counted.values("n")), 0, output_field=IntegerField())


# --- membership -------------------------------------------------------------------------------


def course_is_member(*, user, course: Course) -> bool:
    """True for the course owner and its enrolled students."""
    if not user.is_authenticated:
        return False
    if course.owner_id == user.pk:
        return True
    return Enrollment.objects.filter(student=user, course=course).exists()


def _course_check_member(*, user, course: Course | None) -> None:
    if course is None or (not course.is_published and course.owner_id != user.pk):
        raise Http404("No such course.")
    if not course_is_member(user=user, course=course):
        raise PermissionDenied("Only the course's students and instructor may enter.")


def course_get_for_member(*, user, course_id: int) -> Course:
    """The course for its owner or an enrolled student.

    Raises Http404 for an unknown course or a draft the user does not own, and PermissionDenied
    for anyone else.
    """
    course = Course.objects.select_related("owner", "subject").filter(pk=course_id).first()
    _course_check_member(user=user, course=course)
    return course


def content_get_for_member(*, user, content_id: int) -> Content:
    """A content, with its module and course, for a member of its course.

    Same rules as course_get_for_member; an unknown content is a 404.
    """
    content = Content.objects.select_related("module__course").filter(pk=content_id).first()
    if content is None:
        raise Http404("No such content.")
    _course_check_member(user=user, course=content.module.course)
    return content


def course_get_for_enrollment(*, course_id: int) -> Course | None:
    """The published course with this id, or None: students enroll in nothing else."""
    return Course.objects.filter(pk=course_id, status=Course.Status.PUBLISHED).first()


# --- enrollments ------------------------------------------------------------------------------


def enrollment_get(*, student, course: Course) -> Enrollment | None:
    """The student's enrollment in the course, or None (the owner has none)."""
    if not student.is_authenticated:
        return None
    return Enrollment.objects.filter(student=student, course=course).first()


def _with_progress(enrollments: QuerySet) -> QuerySet:
    """Annotate content_total, content_done and progress (percent) on each enrollment."""
    total = _count(Content.objects.filter(module__course=OuterRef("course")))
    done = _count(
        ContentCompletion.objects.filter(
            student=OuterRef("student"), content__module__course=OuterRef("course")
        )
    )
    return enrollments.annotate(content_total=total, content_done=done).annotate(
        progress=_percent_expression("content_done", "content_total")
    )


def enrollment_list_for_student(*, student) -> QuerySet[Enrollment]:
    """The student's enrollments in published courses, newest first, one query.

    Each carries its course (with subject and owner), last_module, and the progress
    annotations content_total, content_done and progress (percent).
    """
    enrollments = (
        Enrollment.objects.filter(student=student, course__status=Course.Status.PUBLISHED)
        .select_related("course__subject", "course__owner", "last_module")
        .order_by("-created", "-id")
    )
    return _with_progress(enrollments)


def enrollment_list_for_course(*, course: Course) -> QuerySet[Enrollment]:
    """Who is enrolled in the course, oldest first, each with the progress annotations."""
    enrollments = (
        Enrollment.objects.filter(course=course).select_related("student").order_by("created", "id")
    )
    return _with_progress(enrollments)


# --- progress ---------------------------------------------------------------------------------


# --- study view -------------------------------------------------------------------------------


def module_list_for_study(*, course: Course, student) -> list[Module]:
    """The course's modules in order, each annotated with content_count and done_count."""
    return list(
        Module.objects.filter(course=course)
        .annotate(
            content_count=_count(Content.objects.filter(module=OuterRef("pk"))),
            done_count=_count(
                ContentCompletion.objects.filter(student=student.pk, content__module=OuterRef("pk"))
            ),
        )
        .order_by("order", "pk")
    )


def module_pick_for_study(
    *, modules: list[Module], module_id: int | None, enrollment: Enrollment | None
) -> Module | None:
    """The module to show: the one asked for, else where the student left off, else the first.

    Raises Http404 when module_id is not one of the course's modules.
    """
    by_id = {module.pk: module for module in modules}
    if module_id is not None:
        if module_id not in by_id:
            raise Http404("This course has no such module.")
        return by_id[module_id]
    if enrollment is not None and enrollment.last_module_id in by_id:
        return by_id[enrollment.last_module_id]
    return modules[0] if modules else None


def course_progress_from_modules(modules: list[Module]) -> Progress:
    """Course progress from modules annotated by module_list_for_study (no query)."""
    return Progress(
        done=sum(module.done_count for module in modules),
        total=sum(module.content_count for module in modules),
    )


def content_done_ids(*, student, module: Module) -> set[int]:
    """Ids of the module's contents the student has done (one query)."""
    return set(
        ContentCompletion.objects.filter(student=student.pk, content__module=module).values_list(
            "content_id", flat=True
        )
    )
