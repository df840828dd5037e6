import re

import pytest
from django.test import Client
from django.urls import reverse

from courses.models import Content, Course
from students.forms import UNKNOWN_COURSE
from students.models import ContentCompletion, Enrollment
from students.services import (
    OWNER_CANNOT_ENROLL,
    OWNER_CANNOT_UNENROLL,
    content_completion_create,
)
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    TextFactory,
    UserFactory,
)
from tests.students.helpers import video_content

pytestmark = pytest.mark.django_db

ENROLL = reverse("student_enroll_course")
UNENROLL = reverse("student_unenroll_course")
MY_COURSES = reverse("student_course_list")
HUGE_ID = 10**30


def study_url(course, module=None):
    if module is None:
        return reverse("student_course_detail", args=[course.pk])
    return reverse("student_course_detail_module", args=[course.pk, module.pk])


def login_url(next_url):
    return f"{reverse('login')}?next={next_url}"


@pytest.fixture
def student(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def enrollment(client):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.student)
    return enrollment


# --- enroll -----------------------------------------------------------------------------------


def test_enrolling_redirects_to_the_study_view(client, student):
    course = CourseFactory()

    response = client.post(ENROLL, {"course_id": course.pk})

    assert response.status_code == 302
    assert response.url == study_url(course)
    assert Enrollment.objects.filter(student=student, course=course).exists()


def test_a_get_on_the_enroll_url_is_a_405(client, student):
    assert client.get(ENROLL).status_code == 405


def test_an_anonymous_get_on_the_enroll_url_is_a_405_too(client):
    assert client.get(ENROLL).status_code == 405


def test_enrolling_in_an_unknown_course_is_a_400_saying_why(client, student):
    response = client.post(ENROLL, {"course_id": 987654})

    assert response.status_code == 400
    assert str(UNKNOWN_COURSE) in response.content.decode()


def test_enrolling_in_a_draft_course_is_a_400(client, student):
    course = CourseFactory(status=Course.Status.DRAFT)

    response = client.post(ENROLL, {"course_id": course.pk})

    assert response.status_code == 400
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("course_id", ["abc", "", "1.5", "-3", str(HUGE_ID)])
def test_enrolling_with_a_malformed_course_id_is_a_400(client, student, course_id):
    response = client.post(ENROLL, {"course_id": course_id})

    assert response.status_code == 400
    assert "errorlist" in response.content.decode()


def test_enrolling_without_a_course_id_is_a_400(client, student):
    assert client.post(ENROLL).status_code == 400


def test_enrolling_twice_is_harmless(client, student):
    course = CourseFactory()

    client.post(ENROLL, {"course_id": course.pk})
    response = client.post(ENROLL, {"course_id": course.pk})

    assert response.status_code == 302
    assert Enrollment.objects.count() == 1


def test_the_owner_enrolling_in_their_course_is_a_400_saying_why(client):
    course = CourseFactory()
    client.force_login(course.owner)

    response = client.post(ENROLL, {"course_id": course.pk})

    assert response.status_code == 400
    assert str(OWNER_CANNOT_ENROLL) in response.content.decode()


def test_an_anonymous_enroll_goes_to_log_in_and_back_to_the_course_page(client):
    course = CourseFactory()

    response = client.post(ENROLL, {"course_id": course.pk})

    assert response.status_code == 302
    assert response.url == login_url(course.get_absolute_url())
    assert not Enrollment.objects.exists()


# --- unenroll ---------------------------------------------------------------------------------


def test_unenrolling_deletes_the_enrollment_and_goes_to_my_courses(client, enrollment):
    response = client.post(UNENROLL, {"course_id": enrollment.course.pk})

    assert response.status_code == 302
    assert response.url == MY_COURSES
    assert not Enrollment.objects.exists()


def test_a_get_on_the_unenroll_url_is_a_405(client, enrollment):
    assert client.get(UNENROLL).status_code == 405


def test_unenrolling_from_an_unknown_course_is_a_400(client, enrollment):
    response = client.post(UNENROLL, {"course_id": "nope"})

    assert response.status_code == 400
    assert Enrollment.objects.exists()


def test_the_owner_unenrolling_is_a_400_saying_why(client):
    course = CourseFactory()
    client.force_login(course.owner)

    response = client.post(UNENROLL, {"course_id": course.pk})

    assert response.status_code == 400
    assert str(OWNER_CANNOT_UNENROLL) in response.content.decode()


# --- my courses -------------------------------------------------------------------------------


def test_my_courses_lists_each_course_with_its_progress(client, enrollment):
    contents = ContentFactory.create_batch(4, module__course=enrollment.course)
    ContentCompletionFactory(student=enrollment.student, content=contents[0])
    EnrollmentFactory(course__title="Somebody else's course")

    response = client.get(MY_COURSES)

    page = response.content.decode()
    assert enrollment.course.title in page
    assert '<progress max="100" value="25"' in page
    assert "Somebody else" not in page


def finish_course(enrollment) -> None:
    """Mark every content of the course done, as the study view does."""
    module = ModuleFactory(course=enrollment.course)
    ContentFactory.create_batch(2, module=module)
    for content in Content.objects.filter(module__course=enrollment.course):
        content_completion_create(student=enrollment.student, content=content)


def test_my_courses_says_a_finished_course_is_complete(client, enrollment):
    ContentFactory(module__course=EnrollmentFactory(student=enrollment.student).course)
    finish_course(enrollment)

    page = client.get(MY_COURSES).content.decode()

    assert page.count("Course complete.") == 1


def test_the_study_view_says_a_finished_course_is_complete(client, enrollment):
    study = study_url(enrollment.course)
    ContentFactory(module__course=enrollment.course)
    assert "Course complete." not in client.get(study).content.decode()

    finish_course(enrollment)

    assert "Course complete." in client.get(study).content.decode()


def test_my_courses_without_enrollments_shows_an_empty_state(client, student):
    response = client.get(MY_COURSES)

    assert "not enrolled in any course yet" in response.content.decode()


def test_my_courses_offers_to_resume_at_the_last_module(client, enrollment):
    module = ModuleFactory(course=enrollment.course, title="Loops")
    enrollment.last_module = module
    enrollment.save()

    response = client.get(MY_COURSES)

    assert "Resume: Loops" in response.content.decode()


def test_my_courses_sends_anonymous_users_to_log_in(client):
    response = client.get(MY_COURSES)

    assert response.status_code == 302
    assert response.url == login_url(MY_COURSES)


def test_my_courses_runs_as_many_queries_for_20_courses_as_for_1(client, student, count_queries):
    EnrollmentFactory(student=student)
    one = count_queries(MY_COURSES)
    for _ in range(19):
        enrollment = EnrollmentFactory(student=student)
        ContentFactory(module__course=enrollment.course)

    assert count_queries(MY_COURSES) == one


# --- study view -------------------------------------------------------------------------------


def test_the_study_view_shows_the_first_modules_contents(client, enrollment):
    first = ModuleFactory(course=enrollment.course, title="First module")
    ModuleFactory(course=enrollment.course, title="Second module")
    ContentFactory(module=first, item=TextFactory(title="Welcome", content="Hello *world*"))

    response = client.get(study_url(enrollment.course))

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["module"] == first
    assert "Welcome" in page
    assert "<em>world</em>" in page


def test_the_study_view_shows_every_kind_of_content_it_is_given(client, enrollment):
    module = ModuleFactory(course=enrollment.course)
    video_content(module)

    response = client.get(study_url(enrollment.course, module))

    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ" in response.content.decode()


def test_the_study_view_of_a_course_without_modules_shows_an_empty_state(client, enrollment):
    response = client.get(study_url(enrollment.course))

    assert response.status_code == 200
    assert "no modules yet" in response.content.decode()


def test_the_study_view_of_a_module_without_content_shows_an_empty_state(client, enrollment):
    module = ModuleFactory(course=enrollment.course)

    response = client.get(study_url(enrollment.course, module))

    assert response.status_code == 200
    assert "no content yet" in response.content.decode()


def test_a_module_of_another_course_is_a_404(client, enrollment):
    ModuleFactory(course=enrollment.course)
    other = ModuleFactory()

    response = client.get(study_url(enrollment.course, other))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/students/course/987654/",
        f"/students/course/{HUGE_ID}/",
        "/students/course/abc/",
        "/students/course/{course}/987654/",
        "/students/course/{course}/" + str(HUGE_ID) + "/",
        "/students/course/{course}/abc/",
    ],
)
def test_bad_ids_in_study_urls_are_404s(client, enrollment, path):
    ModuleFactory(course=enrollment.course)

    response = client.get(path.format(course=enrollment.course.pk))

    assert response.status_code == 404


def test_the_study_view_of_a_draft_course_is_a_404_for_its_students(client, enrollment):
    Course.objects.filter(pk=enrollment.course.pk).update(status=Course.Status.DRAFT)

    assert client.get(study_url(enrollment.course)).status_code == 404


def test_the_owner_can_study_their_own_draft_course(client):
    module = ModuleFactory(course__status=Course.Status.DRAFT)
    client.force_login(module.course.owner)

    response = client.get(study_url(module.course, module))

    assert response.status_code == 200
    assert response.context["is_owner"]


def test_a_logged_in_non_member_is_refused_the_study_view(client, student):
    module = ModuleFactory()

    assert client.get(study_url(module.course)).status_code == 403
    assert client.get(study_url(module.course, module)).status_code == 403


def test_the_study_views_send_anonymous_users_to_log_in(client):
    module = ModuleFactory()

    for url in (study_url(module.course), study_url(module.course, module)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == login_url(url)


def test_visiting_a_module_remembers_where_the_student_left_off(client, enrollment):
    ModuleFactory(course=enrollment.course)
    second = ModuleFactory(course=enrollment.course)

    client.get(study_url(enrollment.course, second))

    enrollment.refresh_from_db()
    assert enrollment.last_module == second


def test_the_course_url_resumes_at_the_last_visited_module(client, enrollment):
    ModuleFactory(course=enrollment.course)
    second = ModuleFactory(course=enrollment.course)
    client.get(study_url(enrollment.course, second))

    response = client.get(study_url(enrollment.course))

    assert response.context["module"] == second


def test_the_study_view_shows_the_course_progress(client, enrollment):
    module = ModuleFactory(course=enrollment.course)
    done, _, _ = ContentFactory.create_batch(3, module=module)
    ContentCompletionFactory(student=enrollment.student, content=done)

    response = client.get(study_url(enrollment.course, module))

    assert '<progress max="100" value="33"' in response.content.decode()


def test_the_study_view_offers_done_for_todo_contents_and_undo_for_done_ones(client, enrollment):
    module = ModuleFactory(course=enrollment.course)
    done, todo = ContentFactory.create_batch(2, module=module)
    ContentCompletionFactory(student=enrollment.student, content=done)

    page = client.get(study_url(enrollment.course, module)).content.decode()

    assert reverse("content_mark_undone", args=[done.pk]) in page
    assert reverse("content_mark_done", args=[todo.pk]) in page
    assert reverse("content_mark_done", args=[done.pk]) not in page


STUDY_PART = "students/course/_study.html"


def test_a_students_study_page_is_rendered_once_then_served_from_the_cache(client, enrollment):
    module = ModuleFactory(course=enrollment.course)
    content = ContentFactory(module=module)
    client.get(study_url(enrollment.course, module))  # sets the CSRF cookie

    first = client.get(study_url(enrollment.course, module))
    second = client.get(study_url(enrollment.course, module))

    assert STUDY_PART in [template.name for template in first.templates]
    assert STUDY_PART not in [template.name for template in second.templates]
    assert content.item.title in second.content.decode()


def test_a_cached_study_page_shows_new_progress_at_once(client, enrollment):
    module = ModuleFactory(course=enrollment.course)
    content = ContentFactory(module=module)
    for _ in range(2):
        client.get(study_url(enrollment.course, module))

    client.post(reverse("content_mark_done", args=[content.pk]))
    page = client.get(study_url(enrollment.course, module)).content.decode()

    assert reverse("content_mark_undone", args=[content.pk]) in page
    assert '<progress max="100" value="100"' in page


def test_each_browser_of_a_student_gets_forms_that_work_with_its_own_csrf_cookie(enrollment):
    module = ModuleFactory(course=enrollment.course)
    first, second = ContentFactory.create_batch(2, module=module)
    browsers = [Client(enforce_csrf_checks=True) for _ in range(2)]
    for browser, content in zip(browsers, (first, second), strict=True):
        browser.force_login(enrollment.student)
        for _ in range(3):
            page = browser.get(study_url(enrollment.course, module)).content.decode()
        form = page[page.index(reverse("content_mark_done", args=[content.pk])) :]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

        response = browser.post(
            reverse("content_mark_done", args=[content.pk]), {"csrfmiddlewaretoken": token}
        )

        assert response.status_code == 302


def build_course(*, modules, contents_per_module):
    course = CourseFactory()
    for _ in range(modules):
        module = ModuleFactory(course=course)
        for index in range(contents_per_module):
            if index % 2:
                video_content(module)
            else:
                ContentFactory(module=module)
    return course


@pytest.mark.parametrize("as_owner", [False, True], ids=["student", "owner"])
def test_the_study_view_runs_as_many_queries_for_30_modules_as_for_1(
    client, count_queries, as_owner
):
    small = build_course(modules=1, contents_per_module=2)
    large = build_course(modules=30, contents_per_module=30)
    user = UserFactory()
    for course in (small, large):
        if as_owner:
            course.owner = user
            course.save()
        else:
            EnrollmentFactory(student=user, course=course)
        ContentCompletionFactory(student=user, content=course.modules.last().contents.first())
    client.force_login(user)

    small_module, large_module = small.modules.last(), large.modules.last()
    # A module's page first (it records the visit), then the course's (it resumes there).
    assert count_queries(study_url(small, small_module)) == count_queries(
        study_url(large, large_module)
    )
    assert count_queries(study_url(small)) == count_queries(study_url(large))


# --- marking done -----------------------------------------------------------------------------


def test_marking_a_content_done_returns_to_it_in_the_study_view(client, enrollment):
    content = ContentFactory(module__course=enrollment.course)

    response = client.post(reverse("content_mark_done", args=[content.pk]))

    assert response.status_code == 302
    assert response.url == f"{study_url(enrollment.course, content.module)}#content-{content.pk}"
    assert ContentCompletion.objects.filter(student=enrollment.student, content=content).exists()


def test_marking_a_content_done_twice_is_harmless(client, enrollment):
    content = ContentFactory(module__course=enrollment.course)
    url = reverse("content_mark_done", args=[content.pk])

    client.post(url)
    response = client.post(url)

    assert response.status_code == 302
    assert ContentCompletion.objects.count() == 1


def test_marking_a_content_not_done_undoes_it(client, enrollment):
    content = ContentFactory(module__course=enrollment.course)
    ContentCompletionFactory(student=enrollment.student, content=content)

    response = client.post(reverse("content_mark_undone", args=[content.pk]))

    assert response.status_code == 302
    assert not ContentCompletion.objects.exists()


@pytest.mark.parametrize("name", ["content_mark_done", "content_mark_undone"])
def test_a_get_on_the_mark_urls_is_a_405(client, enrollment, name):
    content = ContentFactory(module__course=enrollment.course)

    assert client.get(reverse(name, args=[content.pk])).status_code == 405


def test_marking_a_content_of_a_course_one_is_not_in_is_refused(client, student):
    content = ContentFactory()

    response = client.post(reverse("content_mark_done", args=[content.pk]))

    assert response.status_code == 403
    assert not ContentCompletion.objects.exists()


@pytest.mark.parametrize("content_id", [987654, HUGE_ID])
def test_marking_an_unknown_content_is_a_404(client, student, content_id):
    response = client.post(f"/students/content/{content_id}/done/")

    assert response.status_code == 404


def test_marking_done_anonymously_goes_to_log_in(client):
    content = ContentFactory()

    response = client.post(reverse("content_mark_done", args=[content.pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not ContentCompletion.objects.exists()


# --- the owner's list of students -------------------------------------------------------------


def students_url(course):
    return reverse("course_grades", args=[course.pk])


def test_the_owner_sees_who_is_enrolled_and_how_far_they_are(client):
    course = CourseFactory()
    contents = ContentFactory.create_batch(2, module__course=course)
    keen = EnrollmentFactory(course=course, student__username="keen")
    EnrollmentFactory(course=course, student__username="idle")
    ContentCompletionFactory(student=keen.student, content=contents[0])
    EnrollmentFactory(student__username="elsewhere")
    client.force_login(course.owner)

    response = client.get(students_url(course))

    page = response.content.decode()
    assert response.status_code == 200
    assert "keen" in page and "idle" in page and "elsewhere" not in page
    assert '<progress max="100" value="50"' in page
    assert keen.created.strftime("%Y-%m-%d") in page


def test_another_instructor_gets_a_404_for_the_students_page(client):
    client.force_login(InstructorFactory())

    assert client.get(students_url(CourseFactory())).status_code == 404


@pytest.mark.parametrize("course_id", [987654, HUGE_ID])
def test_an_instructor_gets_a_404_for_an_unknown_course_grades_page(client, course_id):
    client.force_login(InstructorFactory())

    assert client.get(f"/course/{course_id}/grades/").status_code == 404


def test_a_student_is_refused_the_students_page(client, enrollment):
    assert client.get(students_url(enrollment.course)).status_code == 403


def test_the_students_page_sends_anonymous_users_to_log_in(client):
    url = students_url(CourseFactory())

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == login_url(url)


def test_the_students_page_runs_as_many_queries_for_30_students_as_for_1(client, count_queries):
    course = CourseFactory()
    content = ContentFactory(module__course=course)
    EnrollmentFactory(course=course)
    client.force_login(course.owner)
    one = count_queries(students_url(course))
    for enrollment in EnrollmentFactory.create_batch(29, course=course):
        ContentCompletionFactory(student=enrollment.student, content=content)

    assert count_queries(students_url(course)) == one
