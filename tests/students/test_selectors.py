import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404

from courses.models import Course
from students import selectors
from students.selectors import Progress
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


# --- membership -------------------------------------------------------------------------------


def test_the_owner_is_a_member_of_their_course():
    course = CourseFactory()

    assert selectors.course_is_member(user=course.owner, course=course)


def test_an_enrolled_student_is_a_member():
    enrollment = EnrollmentFactory()

    assert selectors.course_is_member(user=enrollment.student, course=enrollment.course)


def test_another_user_is_not_a_member():
    assert not selectors.course_is_member(user=UserFactory(), course=CourseFactory())


def test_an_anonymous_user_is_not_a_member():
    assert not selectors.course_is_member(user=AnonymousUser(), course=CourseFactory())


def test_getting_an_unknown_course_for_a_member_is_a_404():
    with pytest.raises(Http404):
        selectors.course_get_for_member(user=UserFactory(), course_id=987654)


def test_getting_a_draft_for_an_enrolled_student_is_a_404():
    enrollment = EnrollmentFactory(course__status=Course.Status.DRAFT)

    with pytest.raises(Http404):
        selectors.course_get_for_member(user=enrollment.student, course_id=enrollment.course.pk)


def test_getting_a_draft_for_its_owner_returns_it():
    course = CourseFactory(status=Course.Status.DRAFT)

    assert selectors.course_get_for_member(user=course.owner, course_id=course.pk) == course


def test_getting_a_course_for_a_non_member_is_refused():
    with pytest.raises(PermissionDenied):
        selectors.course_get_for_member(user=UserFactory(), course_id=CourseFactory().pk)


def test_getting_a_course_for_an_inactive_student_is_refused():
    enrollment = EnrollmentFactory(student__is_active=False)

    with pytest.raises(PermissionDenied):
        selectors.course_get_for_member(user=enrollment.student, course_id=enrollment.course.pk)


# Each role against a published course and a draft of one owner (staff are no exception).
ROLES = (
    "owner",
    "student of the published course",
    "student of the draft",
    "unenrolled student",
    "inactive student",
    "staff",
)


def user_in_role(role: str, *, published: Course, draft: Course):
    if role == "owner":
        return published.owner
    user = UserFactory(is_active=role != "inactive student", is_staff=role == "staff")
    if role in ("student of the published course", "inactive student"):
        EnrollmentFactory(student=user, course=published)
    if role in ("student of the draft", "inactive student"):
        EnrollmentFactory(student=user, course=draft)
    return user


@pytest.fixture
def published_and_draft() -> tuple[Course, Course]:
    published = CourseFactory()
    draft = CourseFactory(owner=published.owner, status=Course.Status.DRAFT)
    CourseFactory()  # someone else's, which no role may enter
    return published, draft


def course_ids_admitted_by_sql(user) -> set[int]:
    params = selectors.course_member_sql_params(user=user)
    if params is None:
        return set()
    sql = "SELECT c.id FROM courses_course c WHERE " + selectors.COURSE_MEMBER_SQL  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {course_id for (course_id,) in cursor.fetchall()}


@pytest.mark.parametrize("role", ROLES)
def test_the_sql_twin_of_the_membership_rule_agrees_with_it(role, published_and_draft):
    published, draft = published_and_draft
    user = user_in_role(role, published=published, draft=draft)

    admitted_by_rule = {
        course.pk
        for course in Course.objects.all()
        if selectors.course_membership_refusal(user=user, course=course) is None
    }

    assert course_ids_admitted_by_sql(user) == admitted_by_rule


@pytest.mark.parametrize("role", ROLES)
def test_the_membership_rule_for_a_whole_room_agrees_with_the_rule_for_one_user(
    role, published_and_draft
):
    published, draft = published_and_draft
    user = user_in_role(role, published=published, draft=draft)

    for course in (published, draft):
        refusal = selectors.course_membership_refusal(user=user, course=course)
        refusals = selectors.course_membership_refusals(course_id=course.pk, user_ids=[user.pk])
        assert refusals.get(user.pk) == refusal


def test_the_study_view_gets_a_students_course_and_enrollment_in_one_query(
    django_assert_num_queries,
):
    enrollment = EnrollmentFactory()

    with django_assert_num_queries(1):
        course, found = selectors.course_get_for_study(
            user=enrollment.student, course_id=enrollment.course.pk
        )

    assert (course, found) == (enrollment.course, enrollment)


def test_the_study_view_gets_its_owners_draft_without_an_enrollment():
    course = CourseFactory(status=Course.Status.DRAFT)

    assert selectors.course_get_for_study(user=course.owner, course_id=course.pk) == (course, None)


def test_the_study_view_of_a_draft_is_a_404_for_its_enrolled_students():
    enrollment = EnrollmentFactory(course__status=Course.Status.DRAFT)

    with pytest.raises(Http404):
        selectors.course_get_for_study(user=enrollment.student, course_id=enrollment.course.pk)


def test_the_study_view_is_refused_to_a_non_member():
    with pytest.raises(PermissionDenied):
        selectors.course_get_for_study(user=UserFactory(), course_id=CourseFactory().pk)


def test_getting_a_content_for_an_enrolled_student_returns_it():
    enrollment = EnrollmentFactory()
    content = ContentFactory(module__course=enrollment.course)

    found = selectors.content_get_for_member(user=enrollment.student, content_id=content.pk)

    assert found == content


def test_getting_an_unknown_content_is_a_404():
    with pytest.raises(Http404):
        selectors.content_get_for_member(user=UserFactory(), content_id=987654)


def test_getting_a_content_for_a_non_member_is_refused():
    with pytest.raises(PermissionDenied):
        selectors.content_get_for_member(user=UserFactory(), content_id=ContentFactory().pk)


def test_only_published_courses_can_be_enrolled_in():
    published = CourseFactory()
    draft = CourseFactory(status=Course.Status.DRAFT)

    assert selectors.course_get_for_enrollment(course_id=published.pk) == published
    assert selectors.course_get_for_enrollment(course_id=draft.pk) is None


# --- progress ---------------------------------------------------------------------------------


def test_progress_of_a_course_without_content_is_zero():
    assert Progress(done=0, total=0).percent == 0


def test_progress_percent_is_rounded_down():
    assert Progress(done=2, total=3).percent == 66


def test_progress_is_100_only_when_every_content_is_done():
    assert Progress(done=199, total=200).percent == 99
    assert Progress(done=200, total=200).percent == 100


# --- enrollment lists -------------------------------------------------------------------------


def test_a_students_enrollments_carry_their_progress():
    enrollment = EnrollmentFactory()
    contents = ContentFactory.create_batch(3, module__course=enrollment.course)
    ContentCompletionFactory(student=enrollment.student, content=contents[0])

    [listed] = selectors.enrollment_list_for_student(student=enrollment.student)

    assert (listed.content_done, listed.content_total, listed.progress) == (1, 3, 33)


def test_a_course_without_content_lists_at_zero_percent():
    enrollment = EnrollmentFactory()

    [listed] = selectors.enrollment_list_for_student(student=enrollment.student)

    assert (listed.content_done, listed.content_total, listed.progress) == (0, 0, 0)


def test_a_students_enrollments_leave_out_courses_turned_draft():
    student = UserFactory()
    EnrollmentFactory(student=student, course__status=Course.Status.DRAFT)
    kept = EnrollmentFactory(student=student)

    assert list(selectors.enrollment_list_for_student(student=student)) == [kept]


def test_a_students_enrollments_are_newest_first_and_only_theirs():
    student = UserFactory()
    older, newer = EnrollmentFactory(student=student), EnrollmentFactory(student=student)
    EnrollmentFactory()

    assert list(selectors.enrollment_list_for_student(student=student)) == [newer, older]


def test_a_students_enrollments_take_one_query_however_many(django_assert_num_queries):
    student = UserFactory()
    for _ in range(10):
        enrollment = EnrollmentFactory(student=student)
        ContentFactory.create_batch(2, module__course=enrollment.course)

    with django_assert_num_queries(1):
        shown = [
            (e.course.subject.title, e.course.owner.username, e.last_module, e.progress)
            for e in selectors.enrollment_list_for_student(student=student)
        ]

    assert len(shown) == 10


def test_a_courses_enrollments_give_each_students_progress():
    course = CourseFactory()
    contents = ContentFactory.create_batch(4, module__course=course)
    keen, idle = EnrollmentFactory(course=course), EnrollmentFactory(course=course)
    for content in contents[:3]:
        ContentCompletionFactory(student=keen.student, content=content)

    listed = {e.student_id: e.progress for e in selectors.enrollment_list_for_course(course=course)}

    assert listed == {keen.student_id: 75, idle.student_id: 0}


# --- study view -------------------------------------------------------------------------------


def test_modules_for_study_count_contents_and_the_students_completions():
    enrollment = EnrollmentFactory()
    first, second = ModuleFactory.create_batch(2, course=enrollment.course)
    contents = ContentFactory.create_batch(2, module=first)
    ContentCompletionFactory(student=enrollment.student, content=contents[0])
    ContentCompletionFactory(content=contents[1])  # another student

    done = selectors.content_done_ids_by_module(
        student=enrollment.student, course=enrollment.course
    )
    modules = selectors.module_list_for_study(course=enrollment.course, done_by_module=done)

    assert done == {first.pk: {contents[0].pk}}
    assert [(m, m.content_count, m.done_count) for m in modules] == [
        (first, 2, 1),
        (second, 0, 0),
    ]


def test_a_modules_contents_for_study_come_in_order_each_marked_done_or_not():
    enrollment = EnrollmentFactory()
    module = ModuleFactory(course=enrollment.course)
    first, second = ContentFactory.create_batch(2, module=module)

    pairs = selectors.content_list_for_study(
        module=module, version=enrollment.course.version, done_ids={second.pk}
    )

    assert [(content.id, done) for content, done in pairs] == [(first.pk, False), (second.pk, True)]


# --- the module the study view shows -----------------------------------------------------------


def test_the_study_view_shows_the_module_asked_for():
    first, second = ModuleFactory.create_batch(2, course=CourseFactory())

    picked = selectors.module_pick_for_study(
        modules=[first, second], module_id=second.pk, enrollment=None
    )

    assert picked == second


def test_a_module_of_another_course_is_not_found():
    module = ModuleFactory()

    with pytest.raises(Http404):
        selectors.module_pick_for_study(
            modules=[module], module_id=ModuleFactory().pk, enrollment=None
        )


def test_without_a_module_the_study_view_resumes_where_the_student_left_off():
    enrollment = EnrollmentFactory()
    first, second = ModuleFactory.create_batch(2, course=enrollment.course)
    enrollment.last_module = second

    picked = selectors.module_pick_for_study(
        modules=[first, second], module_id=None, enrollment=enrollment
    )

    assert picked == second


def test_a_first_visit_starts_at_the_first_module_and_an_empty_course_at_none():
    first, second = ModuleFactory.create_batch(2, course=CourseFactory())

    assert (
        selectors.module_pick_for_study(modules=[first, second], module_id=None, enrollment=None)
        == first
    )
    assert selectors.module_pick_for_study(modules=[], module_id=None, enrollment=None) is None
