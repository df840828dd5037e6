"""The students API: enrollment, my courses, progress, tokens and throttles."""

import pytest
import redis
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from courses.models import Course
from deploy.processes import free_port
from students.api import INVALID_CREDENTIALS
from students.models import ContentCompletion, Enrollment
from students.services import OWNER_CANNOT_ENROLL
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # the factories' password


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def student():
    return UserFactory()


@pytest.fixture
def student_api(student):
    client = APIClient()
    client.force_authenticate(student)
    return client


def rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


# --- enrollment -------------------------------------------------------------------------------


def test_a_student_enrolls_in_a_course(student_api, student):
    course = CourseFactory()

    response = student_api.post(f"/api/courses/{course.pk}/enroll/")

    assert response.json() == {"course": course.pk, "enrolled": True}
    assert Enrollment.objects.filter(student=student, course=course).exists()


def test_enrolling_twice_keeps_one_enrollment(student_api, student):
    course = CourseFactory()

    student_api.post(f"/api/courses/{course.pk}/enroll/")
    response = student_api.post(f"/api/courses/{course.pk}/enroll/")

    assert response.status_code == 200
    assert Enrollment.objects.filter(student=student, course=course).count() == 1


def test_enrolling_needs_credentials(api):
    assert api.post(f"/api/courses/{CourseFactory().pk}/enroll/").status_code == 401


def test_enrolling_in_an_unknown_course_is_a_404(student_api):
    assert student_api.post("/api/courses/999999/enroll/").status_code == 404


def test_enrolling_in_a_draft_is_a_404(student_api):
    draft = CourseFactory(status=Course.Status.DRAFT)

    assert student_api.post(f"/api/courses/{draft.pk}/enroll/").status_code == 404


def test_an_instructor_cannot_enroll_in_their_own_course():
    course = CourseFactory()
    client = APIClient()
    client.force_authenticate(course.owner)

    response = client.post(f"/api/courses/{course.pk}/enroll/")

    assert response.status_code == 400
    assert response.json()["message"] == OWNER_CANNOT_ENROLL


def test_enrolling_by_get_is_a_405(student_api):
    assert student_api.get(f"/api/courses/{CourseFactory().pk}/enroll/").status_code == 405


def test_a_student_unenrolls(student_api, student):
    enrollment = EnrollmentFactory(student=student)

    response = student_api.post(f"/api/courses/{enrollment.course_id}/unenroll/")

    assert response.json()["enrolled"] is False
    assert not Enrollment.objects.filter(pk=enrollment.pk).exists()


def test_unenrolling_when_not_enrolled_is_harmless(student_api):
    assert student_api.post(f"/api/courses/{CourseFactory().pk}/unenroll/").status_code == 200


# --- my courses -------------------------------------------------------------------------------


def test_my_courses_show_progress(student_api, student):
    module = ModuleFactory(course=EnrollmentFactory(student=student).course)
    done, _, _, _ = ContentFactory.create_batch(4, module=module)
    ContentCompletionFactory(student=student, content=done)

    course = student_api.get("/api/me/courses/").json()["results"][0]

    assert course["progress"] == {"done": 1, "total": 4, "percent": 25}


def test_my_courses_list_only_my_enrollments(student_api, student):
    mine = EnrollmentFactory(student=student).course
    EnrollmentFactory()

    results = student_api.get("/api/me/courses/").json()["results"]

    assert [entry["course"]["id"] for entry in results] == [mine.pk]


def test_my_courses_need_credentials(api):
    assert api.get("/api/me/courses/").status_code == 401


def test_my_courses_run_three_queries_for_20_courses(
    student_api, student, django_assert_num_queries, throttle_in_memory
):
    EnrollmentFactory.create_batch(20, student=student)

    # The page's count, the enrollments with their courses and progress, then the quiz grades.
    with django_assert_num_queries(3):
        student_api.get("/api/me/courses/")


# --- progress ---------------------------------------------------------------------------------


@pytest.fixture
def content(student):
    content = ContentFactory()
    EnrollmentFactory(student=student, course=content.module.course)
    return content


def test_a_student_marks_a_content_done(student_api, student, content):
    response = student_api.post(f"/api/contents/{content.pk}/done/")

    assert response.json() == {"content": content.pk, "done": True}
    assert ContentCompletion.objects.filter(student=student, content=content).exists()


def test_marking_done_twice_keeps_one_completion(student_api, student, content):
    student_api.post(f"/api/contents/{content.pk}/done/")
    student_api.post(f"/api/contents/{content.pk}/done/")

    assert ContentCompletion.objects.filter(student=student, content=content).count() == 1


def test_delete_marks_a_content_not_done(student_api, student, content):
    ContentCompletionFactory(student=student, content=content)

    response = student_api.delete(f"/api/contents/{content.pk}/done/")

    assert response.json()["done"] is False
    assert not ContentCompletion.objects.filter(student=student, content=content).exists()


def test_marking_done_is_forbidden_to_non_members(student_api):
    assert student_api.post(f"/api/contents/{ContentFactory().pk}/done/").status_code == 403


def test_marking_an_unknown_content_done_is_a_404(student_api):
    assert student_api.post("/api/contents/999999/done/").status_code == 404


# --- tokens -----------------------------------------------------------------------------------


def test_a_token_is_given_for_a_username_and_password(api, student):
    response = api.post("/api/token/", {"username": student.username, "password": PASSWORD})

    assert response.json() == {"token": Token.objects.get(user=student).key}


def test_asking_twice_gives_the_same_token(api, student):
    credentials = {"username": student.username, "password": PASSWORD}

    first = api.post("/api/token/", credentials).json()["token"]

    assert api.post("/api/token/", credentials).json()["token"] == first


def test_a_wrong_password_gets_no_token(api, student):
    response = api.post("/api/token/", {"username": student.username, "password": "nope"})

    assert response.status_code == 400
    assert response.json()["message"] == INVALID_CREDENTIALS
    assert not Token.objects.exists()


def test_a_token_request_without_password_names_the_field(api, student):
    response = api.post("/api/token/", {"username": student.username})

    assert "password" in response.json()["errors"]


def test_a_token_authenticates_requests(api, student):
    token = Token.objects.create(user=student)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert api.get("/api/me/courses/").status_code == 200


def test_an_unknown_token_is_a_401(api):
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert api.get("/api/courses/").status_code == 401


def test_delete_revokes_the_token(api, student):
    token = Token.objects.create(user=student)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert api.delete("/api/token/").status_code == 204
    assert api.get("/api/me/courses/").status_code == 401


def test_a_stale_token_header_does_not_stop_asking_for_a_new_one(api, student):
    api.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")

    response = api.post("/api/token/", {"username": student.username, "password": PASSWORD})

    assert response.status_code == 200


def test_an_anonymous_token_request_nested_deeper_than_python_recurses_is_a_json_400(api):
    depth = 949  # the depth that first escaped as a 500 in production

    response = api.generic(
        "POST", "/api/token/", "[" * depth + "]" * depth, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_a_number_for_a_username_is_a_400_naming_the_field(api, student):
    response = api.post("/api/token/", {"username": 0, "password": PASSWORD}, format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["username"])


def test_a_content_id_beyond_the_databases_range_is_a_400_naming_the_id(student_api):
    response = student_api.post(f"/api/contents/{2**63}/done/")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["id"])


def test_an_invalid_page_size_of_my_courses_is_a_400_naming_it(student_api):
    response = student_api.get("/api/me/courses/?page_size=x")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["page_size"])


# --- throttles --------------------------------------------------------------------------------


def test_token_requests_are_throttled_with_retry_after(api, settings, student):
    rates(settings, token="2/m")
    for _ in range(2):
        api.post("/api/token/", {"username": student.username, "password": "guess"})

    response = api.post("/api/token/", {"username": student.username, "password": PASSWORD})

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"


def test_anonymous_requests_are_throttled_per_address(api, settings):
    rates(settings, anon="2/m")
    for _ in range(2):
        api.get("/api/subjects/")

    assert api.get("/api/subjects/").status_code == 429


def test_another_address_has_its_own_anonymous_allowance(api, settings):
    rates(settings, anon="1/m")
    api.get("/api/subjects/", REMOTE_ADDR="10.0.0.1")

    assert api.get("/api/subjects/", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_logged_in_user_is_throttled_at_the_user_rate(student_api, settings):
    rates(settings, anon="1/m", user="3/m")
    for _ in range(3):
        assert student_api.get("/api/me/courses/").status_code == 200

    assert student_api.get("/api/me/courses/").status_code == 429


def test_throttles_hold_while_memcached_is_down(api, settings, memcached_cache, student):
    rates(settings, token="1/m")
    memcached_cache.stop()
    try:
        api.post("/api/token/", {"username": student.username, "password": "guess"})
        response = api.post("/api/token/", {"username": student.username, "password": PASSWORD})
    finally:
        memcached_cache.start()

    assert response.status_code == 429


def test_throttles_count_in_redis_when_it_is_configured(api, settings, redis_server):
    store = redis.Redis.from_url(redis_server.url)
    store.flushdb()
    settings.THROTTLE_REDIS_URL = redis_server.url
    rates(settings, anon="1/m")

    api.get("/api/subjects/")
    response = api.get("/api/subjects/")

    assert response.status_code == 429
    assert 59 <= int(response["Retry-After"]) <= 60
    assert store.keys("api:anon:*") == [b"api:anon:127.0.0.1"]


def test_a_dead_throttle_store_refuses_with_a_503(api, settings):
    settings.THROTTLE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = api.get("/api/subjects/")

    assert response.status_code == 503
