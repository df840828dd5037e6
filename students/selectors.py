"""Reads about students: membership, enrollments and progress."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from courses.cache import module_contents_rendered, module_list_for_course_cached
from courses.models import Content, Course, Module
from courses.selectors import course_list_for_owner, quiz_content_list_for_courses
from educa.db import BIGINT_MAX, first_or_404
from quizzes.models import Attempt

from .models import Certificate, ContentCompletion, CourseCompletion, Enrollment, Profile

GRADEBOOK_SORT_INVALID = _("The gradebook cannot be sorted that way.")
# What makes a spreadsheet read a cell as a formula (CSV injection).
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
# Who may see a course's student pages, enter its room and read its history. The rule is
# membership_refusal; the other forms here (for one user, for a whole room) feed it, and its SQL
# twin is checked against it for every role by tests/students/test_selectors.py.


class Refusal(Enum):
    """Why the membership rule keeps a user out of a course."""

    NOT_AUTHENTICATED = "not authenticated"
    NOT_FOUND = "not found"
    FORBIDDEN = "forbidden"


def membership_refusal(
    *,
    user_id: int | None,
    user_active: bool,
    owner_id: int | None,
    status: str | None,
    enrolled: Callable[[], bool],
) -> Refusal | None:
    """The membership rule: None for the course's owner and, in a published course, its
    enrolled students; otherwise why not.

    `user_active` is False for anonymous and inactive users alike (neither is authenticated);
    `owner_id` and `status` are None for a course that does not exist. A draft is NOT_FOUND to
    anyone but its owner. `enrolled` is asked only when the answer depends on it (it may cost a
    query).
    """
    if not user_active:
        return Refusal.NOT_AUTHENTICATED
    if owner_id is None or (status != Course.Status.PUBLISHED and user_id != owner_id):
        return Refusal.NOT_FOUND
    if not _belongs(user_id=user_id, owner_id=owner_id, enrolled=enrolled):
        return Refusal.FORBIDDEN
    return None


def _belongs(*, user_id: int, owner_id: int, enrolled: Callable[[], bool]) -> bool:
    return user_id == owner_id or enrolled()


def _user_active(user) -> bool:
    return user.is_authenticated and user.is_active


def _enrollment_exists(*, user, course: Course) -> bool:
    return Enrollment.objects.filter(student_id=user.pk, course_id=course.pk).exists()


def course_membership_refusal(*, user, course: Course | None) -> Refusal | None:
    """The membership rule for one user and a course already fetched (None: no such course).

    The enrollment is read (one query) only when it decides.
    """
    return membership_refusal(
        user_id=user.pk,
        user_active=_user_active(user),
        owner_id=None if course is None else course.owner_id,
        status=None if course is None else course.status,
        enrolled=lambda: _enrollment_exists(user=user, course=course),
    )


def course_is_member(*, user, course: Course) -> bool:
    """True for the course's owner and its enrolled students: the rule's last test alone, which
    also holds in a draft (who may enter is course_membership_refusal's to say).

    `course` needs only its pk and owner_id.
    """
    if not user.is_authenticated:
        return False
    return _belongs(
        user_id=user.pk,
        owner_id=course.owner_id,
        enrolled=lambda: _enrollment_exists(user=user, course=course),
    )


def course_membership_refusals(*, course_id: int, user_ids) -> dict[int, Refusal]:
    """The membership rule for many users of one course, in three queries: those it refuses,
    with why."""
    user_ids = set(user_ids)
    course = Course.objects.filter(pk=course_id).values("owner_id", "status").first() or {}
    active_ids = set(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .values_list("pk", flat=True)
    )
    enrolled_ids = set(
        Enrollment.objects.filter(course_id=course_id, student_id__in=user_ids).values_list(
            "student_id", flat=True
        )
    )

    def refusal_of(user_id: int) -> Refusal | None:
        return membership_refusal(
            user_id=user_id,
            user_active=user_id in active_ids,
            owner_id=course.get("owner_id"),
            status=course.get("status"),
            enrolled=lambda: user_id in enrolled_ids,
        )

    refusals = {user_id: refusal_of(user_id) for user_id in user_ids}
    return {user_id: refusal for user_id, refusal in refusals.items() if refusal is not None}


def course_members_named(*, course_ids, usernames) -> list[tuple[int, int, str, bool]]:
    """Members of the courses: (course_id, user_id, username, is_owner) for each course's owner
    and for its members named in `usernames`, in one query.

    The membership rule (membership_refusal) for many courses and names at once: the owner is a
    member of their course, published or not; an enrolled student of a published course is one;
    inactive users are not.
    """
    course_ids = list(course_ids)
    owners = (
        Course.objects.filter(pk__in=course_ids, owner__is_active=True)
        .annotate(is_owner=Value(True, output_field=BooleanField()))
        .values_list("pk", "owner_id", "owner__username", "is_owner")
        .order_by()
    )
    students = (
        Enrollment.objects.filter(
            course_id__in=course_ids,
            course__status=Course.Status.PUBLISHED,
            student__is_active=True,
            student__username__in=list(usernames),
        )
        .annotate(is_owner=Value(False, output_field=BooleanField()))
        .values_list("course_id", "student_id", "student__username", "is_owner")
        .order_by()
    )
    return list(owners.union(students, all=True))


# The most member names a page is given (the chat's completion of mentions).
MEMBER_NAMES_MAX = 1000


def course_member_usernames(*, course: Course) -> list[str]:
    """User names of the course's members (membership_refusal): its owner and, when it is
    published, its active enrolled students; sorted, at most MEMBER_NAMES_MAX.

    One query when `course.owner` is loaded (course_get_for_member loads it).
    """
    names = {course.owner.get_username()} if course.owner.is_active else set()
    if course.status == Course.Status.PUBLISHED:
        students = Enrollment.objects.filter(course=course, student__is_active=True)
        names.update(students.values_list("student__username", flat=True)[:MEMBER_NAMES_MAX])
    return sorted(names)[:MEMBER_NAMES_MAX]


# The rule's SQL twin, for queries written out for speed (the chat's room list, on every page):
# a condition true for the courses `c` of which user %(user)s is a member, with the parameters
# course_member_sql_params gives. Keep it in step with membership_refusal.
COURSE_MEMBER_SQL = (
    "(c.owner_id = %(user)s OR (c.status = %(published)s AND c.id IN "
    "(SELECT e.course_id FROM students_enrollment e WHERE e.student_id = %(user)s)))"
)


def course_member_sql_params(*, user) -> dict | None:
    """COURSE_MEMBER_SQL's parameters for the user, or None when the rule admits them nowhere
    (anonymous or inactive): then there is nothing to ask the database."""
    if not _user_active(user):
        return None
    return {"user": user.pk, "published": Course.Status.PUBLISHED}


class NotAMember(PermissionDenied):
    """A refusal for someone outside the course: the 403 page links to the course to enroll."""

    def __init__(self, course: Course | None):
        super().__init__("Only the course's students and instructor may enter.")
        self.course = course


def _raise_refusal(refusal: Refusal | None, course: Course | None = None) -> None:
    """Http404 or NotAMember for a refusal of the membership rule; nothing for None."""
    if refusal is Refusal.NOT_FOUND:
        raise Http404(_("No such course."))
    if refusal is not None:
        raise NotAMember(course)


def course_get_for_member(*, user, course_id: int) -> Course:
    """The course for its owner or an enrolled student.

    Raises Http404 for an unknown course or a draft the user does not own, and PermissionDenied
    for anyone else.
    """
    course = Course.objects.select_related("owner", "subject").filter(pk=course_id).first()
    _raise_refusal(course_membership_refusal(user=user, course=course), course)
    return course


def content_get_for_member(*, user, content_id: int) -> Content:
    """A content, with its module and course, for a member of its course.

    Same rules as course_get_for_member; an unknown content is a 404.
    """
    content = first_or_404(
        Content.objects.select_related("module__course").filter(pk=content_id),
        _("No such content."),
    )
    content_check_member(user=user, content=content)
    return content


def content_check_member(*, user, content: Content) -> None:
    """content_get_for_member's rule for a content already read with its module and course."""
    course = content.module.course
    _raise_refusal(course_membership_refusal(user=user, course=course), course)


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


def _with_completion(enrollments: QuerySet) -> QuerySet:
    """Annotate completed_at (None: not complete), certificate_id and certificate_revoked_at
    (None: no certificate, or not revoked) on each enrollment."""
    completion = CourseCompletion.objects.filter(
        student=OuterRef("student"), course=OuterRef("course")
    )
    certificate = Certificate.objects.filter(student=OuterRef("student"), course=OuterRef("course"))
    return enrollments.annotate(
        completed_at=Subquery(completion.values("completed")[:1]),
        certificate_id=Subquery(certificate.values("id")[:1]),
        certificate_revoked_at=Subquery(certificate.values("revoked_at")[:1]),
    )


def enrollment_list_for_student(*, student) -> QuerySet[Enrollment]:
    """The student's enrollments in published courses, newest first, one query.

    Each carries its course (with subject and owner), last_module, the progress annotations
    content_total, content_done and progress (percent) and the completion annotations
    completed_at, certificate_id and certificate_revoked_at.
    """
    enrollments = (
        Enrollment.objects.filter(student=student, course__status=Course.Status.PUBLISHED)
        .select_related("course__subject", "course__owner", "last_module")
        .order_by("-created", "-id")
    )
    return _with_completion(_with_progress(enrollments))


def enrollment_list_for_course(*, course: Course) -> QuerySet[Enrollment]:
    """Who is enrolled in the course, oldest first, each with the progress and completion
    annotations."""
    enrollments = (
        Enrollment.objects.filter(course=course).select_related("student").order_by("created", "id")
    )
    return _with_completion(_with_progress(enrollments))


def course_list_for_instructor(*, owner) -> QuerySet[Course]:
    """The owner's courses (course_list_for_owner) with student_count, content_total and
    completion: the percent of all their students' contents done. One query."""
    students = _count(Enrollment.objects.filter(course=OuterRef("pk")))
    contents = _count(Content.objects.filter(module__course=OuterRef("pk")))
    # Completions of students still enrolled: a student who left takes theirs out of the sum.
    done = _count(
        ContentCompletion.objects.filter(
            content__module__course=OuterRef("pk"), student__enrollments__course=OuterRef("pk")
        )
    )
    return (
        course_list_for_owner(owner=owner)
        .annotate(student_count=students, content_total=contents, content_done=done)
        .annotate(
            completion=Coalesce(
                F("content_done") * 100 / NullIf(F("student_count") * F("content_total"), 0),
                0,
                output_field=IntegerField(),
            )
        )
    )


# --- study view -------------------------------------------------------------------------------


# The study view's own queries are written out: every study page runs them, and building them
# with the ORM took about eight times as long as PostgreSQL takes to answer them.
# Columns are listed, never `*`: a prepared statement must keep its result type across migrations.
_STUDY_COURSE_SQL = (
    "SELECT c.id, c.owner_id, c.subject_id, c.title, c.slug, c.overview, c.created, c.status, "
    "c.version, e.id AS enrollment_id, e.created AS enrollment_created, "
    "e.last_module_id AS enrollment_last_module_id, cc.completed AS enrollment_completed_at, "
    "ce.id AS enrollment_certificate_id, ce.revoked_at AS enrollment_certificate_revoked_at "
    "FROM courses_course c JOIN students_enrollment e ON e.course_id = c.id "
    "LEFT JOIN students_coursecompletion cc "
    "ON cc.student_id = e.student_id AND cc.course_id = c.id "
    "LEFT JOIN students_certificate ce ON ce.student_id = e.student_id AND ce.course_id = c.id "
    "WHERE e.student_id = %s AND c.id = %s"
)
_DONE_SQL = (
    "SELECT ct.module_id, cc.content_id FROM students_contentcompletion cc "
    "JOIN courses_content ct ON ct.id = cc.content_id "
    "JOIN courses_module m ON m.id = ct.module_id "
    "WHERE cc.student_id = %s AND m.course_id = %s"
)


def course_get_for_study(*, user, course_id: int) -> tuple[Course, Enrollment | None]:
    """The course with the user's enrollment (None for its owner), for the study view.

    The enrollment carries the completion annotations of enrollment_list_for_student. Same
    rules as course_get_for_member; one query for an enrolled student.
    """
    if not 0 < course_id <= BIGINT_MAX:
        raise Http404(_("No such course."))
    course = next(iter(Course.objects.raw(_STUDY_COURSE_SQL, [user.pk, course_id])), None)
    if course is None:
        return course_get_for_member(user=user, course_id=course_id), None
    # Found through the user's enrollment.
    refusal = membership_refusal(
        user_id=user.pk,
        user_active=_user_active(user),
        owner_id=course.owner_id,
        status=course.status,
        enrolled=lambda: True,
    )
    _raise_refusal(refusal, course)
    if course.owner_id == user.pk:
        return course, None
    enrollment = Enrollment.from_db(
        connection.alias,
        ["id", "student_id", "course_id", "created", "last_module_id"],
        [course.enrollment_id, user.pk, course.pk, course.enrollment_created,
         course.enrollment_last_module_id],
    )  # fmt: skip
    enrollment.course = course
    completed = CourseCompletion._meta.get_field("completed")
    enrollment.completed_at = _from_db(course.enrollment_completed_at, completed)
    enrollment.certificate_id = _from_db(
        course.enrollment_certificate_id, Certificate._meta.get_field("id")
    )
    enrollment.certificate_revoked_at = _from_db(
        course.enrollment_certificate_revoked_at, Certificate._meta.get_field("revoked_at")
    )
    return course, enrollment


def _from_db(value, field):
    """A column a raw query read beside its model's, as the field reads it: SQLite returns
    datetimes and uuids as text."""
    if value is None:
        return None
    expression = Value(value, output_field=field)
    converters = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
    for converter in converters:
        value = converter(value, expression, connection)
    return value


def content_done_ids_by_module(*, student, course: Course) -> dict[int, set[int]]:
    """Ids of the course's contents the student has done, by module id (one query)."""
    done = {}
    with connection.cursor() as cursor:
        cursor.execute(_DONE_SQL, [student.pk, course.pk])
        for module_id, content_id in cursor.fetchall():
            done.setdefault(module_id, set()).add(content_id)
    return done


def module_list_for_study(*, course: Course, done_by_module: dict[int, set[int]]) -> list[Module]:
    """The course's modules in order, each annotated with content_count and done_count.

    The modules come from the cache (courses.cache, under the course's version) and the
    counts of done contents from `done_by_module` (content_done_ids_by_module): no query when
    the cache has them.
    """
    modules = module_list_for_course_cached(course=course)
    for module in modules:
        module.done_count = len(done_by_module.get(module.pk, ()))
    return modules


def content_list_for_study(*, module: Module, version: int, done_ids: set[int]) -> list[tuple]:
    """The module's contents, rendered, each with whether the student has done it: (content,
    done) pairs. The rendering is shared by every member (cached per course `version`).
    """
    rendered = module_contents_rendered(module=module, version=version)
    return [(content, content.id in done_ids) for content in rendered]


def module_pick_for_study(
    *, modules: list[Module], module_id: int | None, enrollment: Enrollment | None
) -> Module | None:
    """The module to show: the one asked for, else where the student left off, else the first.

    Raises Http404 when module_id is not one of the course's modules.
    """
    by_id = {module.pk: module for module in modules}
    if module_id is not None:
        if module_id not in by_id:
            raise Http404(_("This course has no such module."))
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


# --- certificates -----------------------------------------------------------------------------


def certificate_get_public(*, certificate_id) -> Certificate:
    """The certificate with this id, for anyone who has it (its id is the secret); else 404."""
    return first_or_404(Certificate.objects.filter(pk=certificate_id), _("No such certificate."))


def certificate_get_for_owner(*, owner, certificate_id) -> Certificate:
    """A certificate of one of the owner's courses; a 404 for anyone else."""
    return first_or_404(
        Certificate.objects.select_related("course").filter(pk=certificate_id, course__owner=owner),
        _("No such certificate."),
    )


def certificate_list_for_student(*, student) -> QuerySet[Certificate]:
    """The student's certificates, revoked ones included, newest first."""
    return Certificate.objects.filter(student=student).order_by("-issued_at", "pk")


# --- gradebook --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradebookColumn:
    """One column of a course's gradebook, on the page and in its CSV file.

    `value` reads the cell from an enrollment of gradebook_rows; `order_by` are the fields that
    sort by it (None: not sortable); `annotate` adds what `value` and `order_by` need to the
    enrollments' query (None: nothing); `csv` are the (label, value) pairs of the column's cells
    in the CSV file when it needs more than one (empty: its label and value).
    """

    key: str
    label: str
    value: Callable[[Enrollment], object]
    order_by: tuple[str, ...] | None = None
    annotate: Callable[[QuerySet], QuerySet] | None = None
    csv: tuple[tuple[str, Callable[[Enrollment], object]], ...] = ()

    @property
    def csv_parts(self) -> tuple[tuple[str, Callable[[Enrollment], object]], ...]:
        return self.csv or ((self.label, self.value),)


@dataclass(frozen=True)
class QuizCell:
    """A gradebook cell for one quiz: the best graded percent (None before a graded attempt),
    the attempts used and allowed (None: unlimited), and whether one attempt passed."""

    best: float | None
    used: int
    allowed: int | None
    passed: bool
    is_quiz = True


def _quiz_annotation(content_id: int) -> Callable[[QuerySet], QuerySet]:
    """Correlated subqueries for one quiz: a column per quiz keeps the gradebook one query."""

    def annotate(enrollments: QuerySet) -> QuerySet:
        attempts = Attempt.objects.filter(student=OuterRef("student"), content_id=content_id)
        best = attempts.filter(status=Attempt.Status.GRADED).order_by("-percent")
        return enrollments.annotate(
            **{
                f"quiz_{content_id}_best": Subquery(best.values("percent")[:1]),
                f"quiz_{content_id}_used": _count(attempts),
                f"quiz_{content_id}_passed": Exists(attempts.filter(passed=True)),
            }
        )

    return annotate


def _quiz_column(content: Content) -> GradebookColumn:
    prefix = f"quiz_{content.pk}"

    def best(enrollment):
        return getattr(enrollment, f"{prefix}_best")

    def used(enrollment):
        return getattr(enrollment, f"{prefix}_used")

    def cell(enrollment) -> QuizCell:
        return QuizCell(
            best=best(enrollment),
            used=used(enrollment),
            allowed=content.attempts_allowed,
            passed=getattr(enrollment, f"{prefix}_passed"),
        )

    def best_for_csv(enrollment):
        value = best(enrollment)
        return None if value is None else round(value, 2)

    return GradebookColumn(
        f"quiz-{content.pk}",
        content.quiz_title,
        cell,
        (f"{prefix}_best", f"{prefix}_used"),
        _quiz_annotation(content.pk),
        csv=(
            (_("%(quiz)s: best score (%%)") % {"quiz": content.quiz_title}, best_for_csv),
            (_("%(quiz)s: attempts") % {"quiz": content.quiz_title}, used),
        ),
    )


GRADEBOOK_SORT_DEFAULT = "enrolled"


def gradebook_columns(*, course: Course) -> list[GradebookColumn]:
    """The gradebook's columns for the course, in order.

    The place where other kinds of results add their columns, with the annotation that fetches
    them: each quiz, in course order, brings one (one query for the list of quizzes).
    """
    quizzes = list(quiz_content_list_for_courses(course_ids=[course.pk]))
    return [
        GradebookColumn(
            "student", _("Student"), lambda e: e.student.get_username(), ("student__username",)
        ),
        GradebookColumn(
            "name",
            _("Name"),
            lambda e: e.student.get_full_name(),
            ("student__last_name", "student__first_name"),
        ),
        GradebookColumn("enrolled", _("Enrolled since"), lambda e: e.created, ("created",)),
        GradebookColumn("progress", _("Progress"), lambda e: e.progress, ("progress",)),
        GradebookColumn("completed", _("Completed"), lambda e: e.completed_at, ("completed_at",)),
        GradebookColumn(
            "certificate",
            _("Certificate"),
            lambda e: e.certificate_id,
            ("certificate_revoked_at", "certificate_id"),
        ),
        *(_quiz_column(content) for content in quizzes),
    ]


def gradebook_sort_parse(*, columns: list[GradebookColumn], sort: str | None) -> str:
    """The `?sort=` value checked: a sortable column's key, with `-` for descending.

    Raises ValidationError(GRADEBOOK_SORT_INVALID) for anything else.
    """
    if not sort:
        return GRADEBOOK_SORT_DEFAULT
    key = sort.removeprefix("-")
    if not any(column.key == key and column.order_by for column in columns):
        raise ValidationError(GRADEBOOK_SORT_INVALID)
    return sort


def gradebook_rows(*, course: Course, columns: list[GradebookColumn], sort: str) -> QuerySet:
    """The course's enrollments for the gradebook, sorted by `sort` (gradebook_sort_parse), one
    query with what every column needs."""
    enrollments = enrollment_list_for_course(course=course)
    for column in columns:
        if column.annotate is not None:
            enrollments = column.annotate(enrollments)
    descending = sort.startswith("-")
    column = next(column for column in columns if column.key == sort.removeprefix("-"))
    order = [
        F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        for field in column.order_by
    ]
    return enrollments.order_by(*order, "created", "id")


def gradebook_csv_cell(value) -> str:
    """A cell of the gradebook's CSV file: text a spreadsheet never runs as a formula."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if text.startswith(CSV_FORMULA_STARTS):
        return "'" + text
    return text


def profile_language_for_user(*, user) -> str:
    """The language the user saved ("" when none: the browser's applies). One query."""
    language = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    return language or ""
