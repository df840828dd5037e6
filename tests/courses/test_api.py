"""The courses API: catalogue, course contents, and the instructor's write API."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from courses import services
from courses.models import Content, Course, File, Image, Module, Text
from courses.validators import SLUG_RESERVED, VIDEO_URL_UNSUPPORTED
from educa.db import BIGINT_MAX
from tests.clients import logged_in
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    SubjectFactory,
    UserFactory,
)
from tests.students.helpers import video_content

from .uploads import image_bytes, png_upload, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _throttle_counters_in_memory(throttle_in_memory):
    # Throttles have their own tests; here their counters (in the database when Redis is not
    # configured) would blur the query counts.
    pass


@pytest.fixture
def api():
    return APIClient()


def cold_queries(client, url) -> int:
    """SQL queries of a GET with empty caches (content types and course representations)."""
    ContentType.objects.clear_cache()
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# --- subjects ---------------------------------------------------------------------------------


def test_subjects_come_with_their_published_course_counts(api):
    subject = SubjectFactory(title="Music")
    CourseFactory.create_batch(2, subject=subject)
    CourseFactory(subject=subject, status=Course.Status.DRAFT)

    response = api.get("/api/subjects/")

    assert response.status_code == 200
    assert {"title": "Music", "course_count": 2}.items() <= response.json()[0].items()


def test_a_subject_lists_its_three_most_popular_courses(api):
    subject = SubjectFactory()
    courses = CourseFactory.create_batch(4, subject=subject)
    for index, course in enumerate(courses):
        EnrollmentFactory.create_batch(index, course=course)

    response = api.get(f"/api/subjects/{subject.pk}/")

    popular = response.json()["popular_courses"]
    assert [c["id"] for c in popular] == [courses[3].pk, courses[2].pk, courses[1].pk]
    assert popular[0]["student_count"] == 3


def test_popular_courses_never_include_drafts(api):
    subject = SubjectFactory()
    EnrollmentFactory(course=CourseFactory(subject=subject, status=Course.Status.DRAFT))

    assert api.get(f"/api/subjects/{subject.pk}/").json()["popular_courses"] == []


def test_the_subject_list_runs_as_many_queries_for_20_subjects_as_for_1(api):
    CourseFactory()
    one = cold_queries(api, "/api/subjects/")
    for _ in range(19):
        EnrollmentFactory.create_batch(2, course=CourseFactory(subject=SubjectFactory()))

    assert cold_queries(api, "/api/subjects/") == one


def test_an_unknown_subject_is_a_json_404(api):
    response = api.get("/api/subjects/999999/")

    assert response.status_code == 404
    assert response.json()["message"]


# --- course list ------------------------------------------------------------------------------


def test_the_course_list_shows_published_courses_only(api):
    CourseFactory(title="Open")
    CourseFactory(title="Hidden", status=Course.Status.DRAFT)

    titles = [course["title"] for course in api.get("/api/courses/").json()["results"]]

    assert titles == ["Open"]


def test_the_course_list_filters_by_subject_slug(api):
    CourseFactory(title="Piano", subject=SubjectFactory(slug="music"))
    CourseFactory(title="Optics", subject=SubjectFactory(slug="physics"))

    results = api.get("/api/courses/", {"subject": "music"}).json()["results"]

    assert [course["title"] for course in results] == ["Piano"]


def test_an_unknown_subject_slug_is_a_400_naming_the_field(api):
    response = api.get("/api/courses/", {"subject": "nothing"})

    assert response.status_code == 400
    assert "subject" in response.json()["errors"]


def test_the_course_list_searches_titles_and_overviews(api):
    CourseFactory(title="Learning Python")
    CourseFactory(title="Harmony", overview="Chords with python scripts")
    CourseFactory(title="Optics")

    results = api.get("/api/courses/", {"search": "python"}).json()["results"]

    assert {course["title"] for course in results} == {"Learning Python", "Harmony"}


def test_the_course_list_orders_by_title_on_request(api):
    for title in ("B", "C", "A"):
        CourseFactory(title=title)

    results = api.get("/api/courses/", {"ordering": "title"}).json()["results"]

    assert [course["title"] for course in results] == ["A", "B", "C"]


def test_an_unknown_ordering_is_a_400_naming_the_field(api):
    response = api.get("/api/courses/", {"ordering": "owner__password"})

    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_the_course_list_is_paginated(api):
    CourseFactory.create_batch(3)

    body = api.get("/api/courses/", {"page_size": 2, "page": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 1


def test_a_page_beyond_the_last_is_a_404(api):
    assert api.get("/api/courses/", {"page": 5}).status_code == 404


def test_a_listed_course_has_absolute_links_and_a_module_count(api):
    course = CourseFactory()
    ModuleFactory.create_batch(2, course=course)

    listed = api.get("/api/courses/").json()["results"][0]

    assert listed["url"] == f"http://testserver/api/courses/{course.pk}/"
    assert listed["page_url"] == f"http://testserver/course/{course.slug}/"
    assert listed["module_count"] == 2


def test_the_course_list_runs_as_many_queries_for_30_courses_as_for_1(api):
    CourseFactory()
    one = cold_queries(api, "/api/courses/")
    for _ in range(29):
        ModuleFactory.create_batch(2, course=CourseFactory(subject=SubjectFactory()))

    assert cold_queries(api, "/api/courses/") == one


def test_a_cached_course_list_costs_one_query(api):
    CourseFactory.create_batch(3)
    api.get("/api/courses/")

    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/courses/").status_code == 200

    # The catalogue version, nothing else.
    assert len(queries) == 1


# --- course detail ----------------------------------------------------------------------------


def test_a_course_comes_with_its_modules_in_order(api):
    course = CourseFactory()
    first, second = ModuleFactory.create_batch(2, course=course)

    body = api.get(f"/api/courses/{course.pk}/").json()

    assert [module["id"] for module in body["modules"]] == [first.pk, second.pk]


def test_a_draft_is_not_found_for_others(api):
    draft = CourseFactory(status=Course.Status.DRAFT)

    assert api.get(f"/api/courses/{draft.pk}/").status_code == 404


def test_a_draft_is_shown_to_its_owner():
    draft = CourseFactory(status=Course.Status.DRAFT)

    assert logged_in(draft.owner).get(f"/api/courses/{draft.pk}/").status_code == 200


def test_an_unknown_course_is_a_json_404(api):
    response = api.get("/api/courses/987654/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_non_numeric_course_id_is_a_json_404(api):
    response = api.get("/api/courses/abc/")

    assert response.status_code == 404
    assert response.json()["message"]


def test_a_course_id_beyond_the_databases_range_is_a_400_naming_the_id(api):
    response = api.get(f"/api/courses/{BIGINT_MAX + 1}/")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["id"])


def test_a_course_id_longer_than_python_converts_is_a_400_naming_the_id(api):
    response = api.get(f"/api/courses/{'9' * 5000}/")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["id"])


def test_the_course_detail_runs_as_many_queries_for_30_modules_as_for_1(api):
    course = CourseFactory()
    ModuleFactory(course=course)
    one = cold_queries(api, f"/api/courses/{course.pk}/")
    ModuleFactory.create_batch(29, course=course)

    assert cold_queries(api, f"/api/courses/{course.pk}/") == one


def test_a_wrong_method_is_a_json_405(api):
    response = api.delete("/api/subjects/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- contents ---------------------------------------------------------------------------------


@pytest.fixture
def member_course(media_root):
    """A course with one content of each kind, and an enrolled student."""
    course = CourseFactory()
    module = ModuleFactory(course=course)
    owner = course.owner
    services.content_create(module=module, item=Text(title="Intro", content="**Hi**"))
    video_content(module)
    services.content_create(module=module, item=Image(title="Photo", file=png_upload(size=(5, 4))))
    services.content_create(module=module, item=File(title="Notes", file=upload("a.txt", b"abc")))
    student = EnrollmentFactory(course=course).student
    return course, owner, student


def test_contents_come_in_one_shape_per_kind(member_course):
    course, _, student = member_course

    body = logged_in(student).get(f"/api/courses/{course.pk}/contents/").json()

    text, video, image, file = body["modules"][0]["contents"]
    assert text["kind"] == "text" and text["html"] == "<p><strong>Hi</strong></p>"
    assert video["kind"] == "video"
    assert video["embed_url"].startswith("https://www.youtube-nocookie.com/embed/")
    assert (image["kind"], image["width"], image["height"]) == ("image", 5, 4)
    assert (file["kind"], file["size"]) == ("file", 3)


def test_file_and_image_urls_are_absolute_links_to_the_guarded_view(member_course):
    course, _, student = member_course
    client = logged_in(student)

    contents = client.get(f"/api/courses/{course.pk}/contents/").json()["modules"][0]["contents"]

    file = contents[3]
    assert file["url"] == f"http://testserver/course/content/{file['id']}/file/"


def test_contents_are_shown_to_the_owner(member_course):
    course, owner, _ = member_course

    assert logged_in(owner).get(f"/api/courses/{course.pk}/contents/").status_code == 200


def test_contents_are_forbidden_to_non_members(member_course):
    course, _, _ = member_course

    response = logged_in(UserFactory()).get(f"/api/courses/{course.pk}/contents/")

    assert response.status_code == 403


def test_contents_need_credentials(api, member_course):
    course, _, _ = member_course

    response = api.get(f"/api/courses/{course.pk}/contents/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_contents_of_a_draft_are_not_found_for_its_students(member_course):
    course, _, student = member_course
    services.course_unpublish(course=course)

    assert logged_in(student).get(f"/api/courses/{course.pk}/contents/").status_code == 404


def test_contents_run_as_many_queries_for_30_modules_as_for_1(media_root):
    def build(modules):
        course = CourseFactory()
        for _ in range(modules):
            module = ModuleFactory(course=course)
            ContentFactory(module=module)
            video_content(module)
        return course, EnrollmentFactory(course=course).student

    small, small_student = build(1)
    large, large_student = build(30)

    assert cold_queries(
        logged_in(small_student), f"/api/courses/{small.pk}/contents/"
    ) == cold_queries(logged_in(large_student), f"/api/courses/{large.pk}/contents/")


# --- the instructor's courses -----------------------------------------------------------------


@pytest.fixture
def instructor():
    return InstructorFactory()


@pytest.fixture
def owner_api(instructor):
    return logged_in(instructor)


def course_body(**fields):
    return {"subject": SubjectFactory().pk, "title": "Rust", "overview": "Systems.", **fields}


def test_an_instructor_creates_a_draft_course(owner_api, instructor):
    response = owner_api.post("/api/courses/", course_body(), format="json")

    assert response.status_code == 201
    course = Course.objects.get(pk=response.json()["id"])
    assert (course.owner, course.status, course.slug) == (instructor, "draft", "rust")


def test_a_student_may_not_create_a_course():
    response = logged_in(UserFactory()).post("/api/courses/", course_body(), format="json")

    assert response.status_code == 403


def test_creating_a_course_needs_credentials(api):
    assert api.post("/api/courses/", course_body(), format="json").status_code == 401


def test_a_course_without_title_is_a_400_naming_the_field(owner_api):
    response = owner_api.post("/api/courses/", course_body(title=""), format="json")

    assert response.status_code == 400
    assert "title" in response.json()["errors"]


def test_a_reserved_slug_is_refused_as_in_the_cms(owner_api):
    response = owner_api.post("/api/courses/", course_body(slug="mine"), format="json")

    assert response.json()["errors"]["slug"] == [SLUG_RESERVED % {"slug": "mine"}]


def test_an_unknown_subject_id_is_a_400_naming_the_field(owner_api):
    response = owner_api.post("/api/courses/", course_body(subject=999999), format="json")

    assert "subject" in response.json()["errors"]


def test_malformed_json_is_a_400(owner_api):
    response = owner_api.post("/api/courses/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_an_owner_renames_a_course(owner_api, instructor):
    course = CourseFactory(owner=instructor)

    response = owner_api.patch(f"/api/courses/{course.pk}/", {"title": "New"}, format="json")

    assert response.status_code == 200
    course.refresh_from_db()
    assert (course.title, course.slug) == ("New", response.json()["slug"])


def test_a_partial_update_keeps_the_slug(owner_api, instructor):
    course = CourseFactory(owner=instructor, slug="kept")

    owner_api.patch(f"/api/courses/{course.pk}/", {"title": "Other"}, format="json")

    course.refresh_from_db()
    assert course.slug == "kept"


def test_another_instructors_course_is_not_found(owner_api):
    course = CourseFactory()

    response = owner_api.patch(f"/api/courses/{course.pk}/", {"title": "Mine"}, format="json")

    assert response.status_code == 404


def test_a_student_may_not_edit_a_course():
    course = CourseFactory()

    response = logged_in(UserFactory()).patch(f"/api/courses/{course.pk}/", {"title": "X"})

    assert response.status_code == 403


def test_an_owner_publishes_and_unpublishes_a_course(owner_api, instructor):
    course = CourseFactory(owner=instructor, status=Course.Status.DRAFT)

    published = owner_api.post(f"/api/courses/{course.pk}/publish/").json()["status"]
    drafted = owner_api.post(f"/api/courses/{course.pk}/unpublish/").json()["status"]

    assert (published, drafted) == ("published", "draft")


def test_an_owner_deletes_a_course(owner_api, instructor):
    course = CourseFactory(owner=instructor)

    assert owner_api.delete(f"/api/courses/{course.pk}/").status_code == 204
    assert not Course.objects.filter(pk=course.pk).exists()


def test_session_clients_need_the_csrf_token(instructor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(instructor)

    response = client.post("/api/courses/", course_body(), format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_http_basic_is_not_accepted(instructor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic aW5zdHJ1Y3RvcjpwYXNzLXdvcmQtMTIz")

    assert client.post("/api/courses/", course_body(), format="json").status_code == 401


# --- the instructor's modules -----------------------------------------------------------------


def test_an_owner_adds_a_module_at_the_end(owner_api, instructor):
    course = CourseFactory(owner=instructor)
    ModuleFactory(course=course)

    response = owner_api.post(f"/api/courses/{course.pk}/modules/", {"title": "Two"})

    assert response.status_code == 201
    assert response.json()["order"] == 1


def test_a_module_without_title_is_a_400_naming_the_field(owner_api, instructor):
    course = CourseFactory(owner=instructor)

    response = owner_api.post(f"/api/courses/{course.pk}/modules/", {"description": "x"})

    assert "title" in response.json()["errors"]


def test_an_owner_edits_a_module(owner_api, instructor):
    module = ModuleFactory(course=CourseFactory(owner=instructor))

    owner_api.patch(f"/api/modules/{module.pk}/", {"title": "Renamed"}, format="json")

    module.refresh_from_db()
    assert module.title == "Renamed"


def test_an_owner_deletes_a_module(owner_api, instructor):
    module = ModuleFactory(course=CourseFactory(owner=instructor))

    assert owner_api.delete(f"/api/modules/{module.pk}/").status_code == 204
    assert not Module.objects.filter(pk=module.pk).exists()


def test_another_instructors_module_is_not_found(owner_api):
    module = ModuleFactory()

    assert owner_api.delete(f"/api/modules/{module.pk}/").status_code == 404


def test_an_owner_reorders_modules(owner_api, instructor):
    course = CourseFactory(owner=instructor)
    first, second, third = ModuleFactory.create_batch(3, course=course)

    response = owner_api.post(
        f"/api/courses/{course.pk}/modules/order/", {"ids": [third.pk, first.pk]}, format="json"
    )

    assert [module["id"] for module in response.json()] == [third.pk, first.pk, second.pk]


def test_reordering_modules_of_another_course_is_a_400(owner_api, instructor):
    course = CourseFactory(owner=instructor)
    elsewhere = ModuleFactory(course=CourseFactory(owner=instructor))

    response = owner_api.post(
        f"/api/courses/{course.pk}/modules/order/", {"ids": [elsewhere.pk]}, format="json"
    )

    assert "ids" in response.json()["errors"]


def test_an_order_that_is_not_a_list_of_ids_is_a_400(owner_api, instructor):
    course = CourseFactory(owner=instructor)

    response = owner_api.post(
        f"/api/courses/{course.pk}/modules/order/", {"ids": {"a": True}}, format="json"
    )

    assert response.status_code == 400


# --- the instructor's contents ----------------------------------------------------------------


@pytest.fixture
def owned_module(instructor):
    return ModuleFactory(course=CourseFactory(owner=instructor))


def test_an_owner_adds_a_text(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "text", "title": "Intro", "content": "*hi*"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["html"] == "<p><em>hi</em></p>"


def test_an_owner_adds_a_video(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "video", "title": "Talk", "url": "https://vimeo.com/76979871"},
        format="json",
    )

    assert response.json()["embed_url"] == "https://player.vimeo.com/video/76979871"


def test_an_unsupported_video_link_is_refused_as_in_the_cms(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "video", "title": "Talk", "url": "https://example.com/v.mp4"},
        format="json",
    )

    assert response.json()["errors"]["url"] == [VIDEO_URL_UNSUPPORTED]


def test_an_owner_uploads_an_image(owner_api, owned_module, media_root):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "image", "title": "Photo", "file": png_upload(size=(6, 2))},
        format="multipart",
    )

    assert response.status_code == 201
    assert (response.json()["width"], response.json()["height"]) == (6, 2)


def test_an_html_page_named_png_is_refused_as_an_image(owner_api, owned_module, media_root):
    fake = upload("page.png", b"<!doctype html><script>alert(1)</script>", "image/png")

    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "image", "title": "Photo", "file": fake},
        format="multipart",
    )

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert not Image.objects.exists()


def test_an_image_pillow_cannot_decode_fully_is_refused(owner_api, owned_module, media_root):
    truncated = upload("cut.png", image_bytes("PNG", size=(64, 64))[:60], "image/png")

    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "image", "title": "Photo", "file": truncated},
        format="multipart",
    )

    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_a_file_over_the_limit_is_refused(owner_api, owned_module, media_root, settings):
    settings.UPLOAD_MAX_BYTES = 10

    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "file", "title": "Big", "file": upload("big.bin", b"x" * 11)},
        format="multipart",
    )

    assert "file" in response.json()["errors"]
    assert not File.objects.exists()


def test_a_content_without_kind_is_a_400_naming_the_field(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/", {"title": "?"}, format="json"
    )

    assert "kind" in response.json()["errors"]


def test_a_text_without_content_is_a_400_naming_the_field(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/", {"kind": "text", "title": "T"}, format="json"
    )

    assert "content" in response.json()["errors"]


def test_a_student_may_not_add_contents(owned_module):
    response = logged_in(UserFactory()).post(
        f"/api/modules/{owned_module.pk}/contents/", {"kind": "text", "title": "T", "content": "c"}
    )

    assert response.status_code == 403


def test_an_owner_edits_a_text(owner_api, owned_module):
    content = ContentFactory(module=owned_module)

    response = owner_api.patch(f"/api/contents/{content.pk}/", {"content": "new"}, format="json")

    assert response.json()["html"] == "<p>new</p>"


def test_a_content_cannot_change_kind(owner_api, owned_module):
    content = ContentFactory(module=owned_module)

    response = owner_api.patch(f"/api/contents/{content.pk}/", {"kind": "video"}, format="json")

    assert "kind" in response.json()["errors"]


def test_an_owner_deletes_a_content_with_its_item(owner_api, owned_module):
    content = ContentFactory(module=owned_module)

    assert owner_api.delete(f"/api/contents/{content.pk}/").status_code == 204
    assert not Text.objects.filter(pk=content.object_id).exists()


def test_another_instructors_content_is_not_found(owner_api):
    content = ContentFactory()

    assert owner_api.get(f"/api/contents/{content.pk}/").status_code == 404


def test_an_owner_reorders_contents(owner_api, owned_module):
    first, second = ContentFactory.create_batch(2, module=owned_module)

    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/order/", {"ids": [second.pk]}, format="json"
    )

    assert [content["id"] for content in response.json()] == [second.pk, first.pk]
    assert list(Content.objects.filter(module=owned_module).values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]


def test_a_module_whose_course_was_deleted_meanwhile_is_not_found():
    module = ModuleFactory()
    Course.objects.filter(pk=module.course_id).delete()

    with pytest.raises(Http404):
        services.module_delete(module=module)


def test_a_body_over_django_limits_is_a_json_400(owner_api, owned_module, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5

    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/order/",
        {"ids": list(range(1, 20))},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# --- hostile input ----------------------------------------------------------------------------


def post_raw_json(client, url, body: str):
    return client.generic("POST", url, body, content_type="application/json")


def test_json_nested_deeper_than_python_recurses_is_a_json_400(owner_api):
    depth = 100_000

    response = post_raw_json(owner_api, "/api/courses/", "[" * depth + "]" * depth)

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_a_number_beyond_a_doubles_range_is_a_400(owner_api):
    body = '{"subject": 1e400, "title": "Rust", "overview": "Systems."}'

    response = post_raw_json(owner_api, "/api/courses/", body)

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_nan_in_a_body_is_a_400(owner_api):
    response = post_raw_json(owner_api, "/api/courses/", '{"subject": NaN, "title": "Rust"}')

    assert response.status_code == 400


def test_an_integer_over_python_digit_limit_is_a_400(owner_api):
    response = post_raw_json(owner_api, "/api/courses/", '{"subject": ' + "1" * 5000 + "}")

    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_a_fractional_subject_id_is_a_400_naming_the_field(owner_api):
    subject = SubjectFactory()

    response = owner_api.post("/api/courses/", course_body(subject=subject.pk + 0.5), format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["subject"])


def test_a_subject_id_beyond_the_databases_range_is_a_400_naming_the_field(owner_api):
    response = owner_api.post("/api/courses/", course_body(subject=BIGINT_MAX + 1), format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["subject"])


def test_a_number_for_a_string_field_is_a_400_naming_the_field(owner_api, instructor):
    module = ModuleFactory(course=CourseFactory(owner=instructor), description="Kept")

    response = owner_api.patch(f"/api/modules/{module.pk}/", {"description": 0}, format="json")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["description"])
    module.refresh_from_db()
    assert module.description == "Kept"


def test_a_number_for_a_content_title_is_a_400_naming_the_field(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "text", "title": 7, "content": "hi"},
        format="json",
    )

    assert (response.status_code, list(response.json()["errors"])) == (400, ["title"])


def test_an_empty_url_on_a_text_content_is_a_400_naming_the_field(owner_api, owned_module):
    content = services.content_create(module=owned_module, item=Text(title="T", content="x"))

    response = owner_api.patch(f"/api/contents/{content.pk}/", {"url": ""}, format="multipart")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["url"])


def test_a_video_url_on_a_new_text_is_a_400_naming_the_field(owner_api, owned_module):
    response = owner_api.post(
        f"/api/modules/{owned_module.pk}/contents/",
        {"kind": "text", "title": "T", "content": "x", "url": "https://youtu.be/abc"},
        format="json",
    )

    assert (response.status_code, list(response.json()["errors"])) == (400, ["url"])
    assert not Content.objects.exists()


def test_an_order_id_beyond_the_databases_range_is_a_400_naming_the_field(owner_api, instructor):
    course = CourseFactory(owner=instructor)

    response = owner_api.post(
        f"/api/courses/{course.pk}/modules/order/", {"ids": [BIGINT_MAX + 1]}, format="json"
    )

    assert (response.status_code, response.json()["errors"]["ids"]) == (
        400,
        {"0": ["Ensure this value is less than or equal to 9223372036854775807."]},
    )


def test_a_path_with_a_newline_under_the_api_is_a_json_404(api):
    response = api.get("/api/contents/%0A/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    "query",
    ["page_size=abc", "page_size=0", "page_size=101", "page_size=1.0", "page_size=2&page_size=3"],
)
def test_an_invalid_or_repeated_page_size_is_a_400_naming_it(api, query):
    response = api.get(f"/api/courses/?{query}")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["page_size"])


def test_a_repeated_page_is_a_400_naming_it(api):
    response = api.get("/api/courses/?page=1&page=2")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["page"])


def test_an_empty_ordering_is_a_400_naming_the_field(api):
    response = api.get("/api/courses/?ordering=")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["ordering"])


def test_a_repeated_ordering_is_a_400_naming_the_field(api):
    response = api.get("/api/courses/?ordering=title&ordering=-title")

    assert (response.status_code, list(response.json()["errors"])) == (400, ["ordering"])


def test_an_empty_search_lists_every_course(api):
    CourseFactory()

    response = api.get("/api/courses/?search=")

    assert (response.status_code, response.json()["count"]) == (200, 1)
