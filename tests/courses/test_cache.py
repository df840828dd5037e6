"""Course content served from Memcached: never stale, never someone else's, never failing."""

import logging
import time

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from courses import services
from courses.cache import PAGE_CACHE_HEADER, catalogue_version
from courses.models import Course, Module, Subject, Text
from deploy.processes import MemcachedServer
from educa.cache_backends import cache_stats, cache_stats_reset
from students.services import user_profile_update
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    SubjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memcached(memcached_cache, throttle_in_memory):
    """Every test here runs against the throwaway memcached."""
    return memcached_cache


@pytest.fixture
def course():
    """A published course with two modules of two texts each."""
    course = CourseFactory(title="Harmony", subject=SubjectFactory(title="Music"))
    for module_title in ("Scales", "Chords"):
        module = ModuleFactory(course=course, title=module_title)
        for index in range(2):
            ContentFactory(module=module, item__title=f"{module_title} {index}")
    course.refresh_from_db()
    return course


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def log_in(client, user) -> None:
    """Through the log-in page, as a person would (the session is saved in the database)."""
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "pass-word-123"}
    )
    assert response.status_code == 302


def study_url(course) -> str:
    return f"/students/course/{course.pk}/{course.modules.first().pk}/"


def text_of(response) -> str:
    return response.content.decode()


def fresh(course) -> Course:
    return Course.objects.get(pk=course.pk)


# --- versions ---------------------------------------------------------------------------------


def test_creating_a_course_bumps_the_catalogue_version():
    before = catalogue_version()

    services.course_create(owner=UserFactory(), subject=SubjectFactory(), title="T", overview="O")

    assert catalogue_version() > before


@pytest.mark.parametrize(
    "change",
    [
        lambda c: services.course_update(
            course=c, subject=c.subject, title="New", overview=c.overview
        ),
        lambda c: services.course_unpublish(course=c),
        lambda c: services.course_delete(course=c),
        lambda c: services.module_create(course=c, title="New module"),
        lambda c: services.module_delete(module=c.modules.first()),
    ],
    ids=["edit", "unpublish", "delete", "module-added", "module-deleted"],
)
def test_changes_shown_in_lists_bump_the_catalogue_version(course, change):
    before = catalogue_version()

    change(course)

    assert catalogue_version() > before


def test_publishing_bumps_the_catalogue_version():
    draft = CourseFactory(status=Course.Status.DRAFT)
    before = catalogue_version()

    services.course_publish(course=draft)

    assert catalogue_version() > before


def test_renaming_a_subject_bumps_its_courses_and_the_catalogue(course):
    before = catalogue_version()
    subject = course.subject
    subject.title = "Sound"
    subject.save()

    assert (fresh(course).version, catalogue_version() > before) == (course.version + 1, True)


def test_renaming_an_instructor_bumps_their_courses(course):
    owner = course.owner

    user_profile_update(user=owner, first_name="Ada", last_name="L", email=owner.email)

    assert fresh(course).version == course.version + 1


def test_a_log_in_bumps_nothing(course):
    before = (catalogue_version(), course.version)

    log_in(client_for(), course.owner)

    assert (catalogue_version(), fresh(course).version) == before


def test_reordering_modules_bumps_the_course_version(course):
    last = course.modules.last()

    services.module_reorder(owner=course.owner, orders={last.pk: 0})

    assert fresh(course).version == course.version + 1


def test_reordering_contents_bumps_the_course_version(course):
    module = course.modules.first()
    last = module.contents.last()

    services.content_reorder(owner=course.owner, orders={last.pk: 0})

    assert fresh(course).version == course.version + 1


# --- every change is visible on the next request ----------------------------------------------


def _content(course, module_index=0, content_index=0):
    return list(list(course.modules.all())[module_index].contents.all())[content_index]


def _rename_text(course):
    content = _content(course)
    item = content.item
    item.title = "Renamed text"
    services.content_update(content=content, item=item)


def _rename_module(course):
    module = course.modules.first()
    services.module_update(module=module, title="Renamed module")


def _move_last_module_first(course):
    services.module_reorder(owner=course.owner, orders={course.modules.last().pk: 0})


def _move_last_content_first(course):
    module = course.modules.first()
    services.content_reorder(owner=course.owner, orders={module.contents.last().pk: 0})


def _rename_subject(course):
    subject = Subject.objects.get(pk=course.subject_id)
    subject.title = "Renamed subject"
    subject.save()


def _rename_owner(course):
    owner = course.owner
    user_profile_update(user=owner, first_name="Renamed", last_name="Owner", email=owner.email)


def _retitle_course(course):
    services.course_update(
        course=course, subject=course.subject, title="Retitled", overview=course.overview
    )


# Each: (page, change, text that must appear after it, text that must be gone).
VISIBLE_CHANGES = {
    "course-title-on-course-page": ("course", _retitle_course, "Retitled", None),
    "course-title-in-catalogue": ("catalogue", _retitle_course, "Retitled", None),
    "course-title-in-api-list": ("api-list", _retitle_course, "Retitled", None),
    "course-title-in-api-detail": ("api-detail", _retitle_course, "Retitled", None),
    "module-added-on-course-page": (
        "course",
        lambda c: services.module_create(course=c, title="Fresh module"),
        "Fresh module",
        None,
    ),
    "module-renamed-in-study-view": ("study", _rename_module, "Renamed module", None),
    "module-deleted-from-course-page": (
        "course",
        lambda c: services.module_delete(module=c.modules.last()),
        None,
        "Chords",
    ),
    "module-count-in-catalogue": (
        "catalogue",
        lambda c: services.module_create(course=c, title="Third"),
        "3 modules",
        "2 modules",
    ),
    "content-added-in-study-view": (
        "study",
        lambda c: services.content_create(
            module=c.modules.first(), item=Text(title="Brand new", content="x")
        ),
        "Brand new",
        None,
    ),
    "content-edited-in-study-view": ("study", _rename_text, "Renamed text", None),
    "content-edited-in-api-contents": ("api-contents", _rename_text, "Renamed text", None),
    "content-deleted-from-study-view": (
        "study",
        lambda c: services.content_delete(content=_content(c)),
        None,
        "Scales 0",
    ),
    "subject-renamed-on-course-page": ("course", _rename_subject, "Renamed subject", None),
    "subject-renamed-in-catalogue": ("catalogue", _rename_subject, "Renamed subject", None),
    "owner-renamed-on-course-page": ("course", _rename_owner, "Renamed Owner", None),
}

ORDER_CHANGES = {
    "modules-reordered-on-course-page": ("course", _move_last_module_first, ["Chords", "Scales"]),
    "modules-reordered-in-api-detail": (
        "api-detail",
        _move_last_module_first,
        ["Chords", "Scales"],
    ),
    "contents-reordered-in-study-view": (
        "study",
        _move_last_content_first,
        ["Scales 1", "Scales 0"],
    ),
    "contents-reordered-in-api-contents": (
        "api-contents",
        _move_last_content_first,
        ["Scales 1", "Scales 0"],
    ),
}


def _get(page, course, user):
    if page.startswith("api"):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        url = {
            "api-list": "/api/courses/",
            "api-detail": f"/api/courses/{course.pk}/",
            "api-contents": f"/api/courses/{course.pk}/contents/",
        }[page]
        return client.get(url)
    url = {"catalogue": "/", "course": f"/course/{course.slug}/", "study": study_url(course)}[page]
    return client_for(user).get(url)


def _viewers(page, student):
    # Anonymous visitors (whole pages) and a logged-in member (fragments), where they may look.
    if page in ("study", "api-contents"):
        return [student]
    return [None, student]


@pytest.mark.parametrize("name", list(VISIBLE_CHANGES))
def test_a_change_is_visible_on_the_next_request(name, course, student):
    page, change, appears, goes = VISIBLE_CHANGES[name]
    for viewer in _viewers(page, student):
        _get(page, course, viewer)
        _get(page, course, viewer)  # now cached
    change(course)
    course = fresh(course)

    for viewer in _viewers(page, student):
        body = text_of(_get(page, course, viewer))
        if appears:
            assert appears in body
        if goes:
            assert goes not in body


@pytest.mark.parametrize("name", list(ORDER_CHANGES))
def test_a_new_order_is_visible_on_the_next_request(name, course, student):
    page, change, order = ORDER_CHANGES[name]
    for viewer in _viewers(page, student):
        _get(page, course, viewer)
    change(course)

    for viewer in _viewers(page, student):
        body = text_of(_get(page, course, viewer))
        assert body.index(order[0]) < body.index(order[1])


def test_an_unpublished_course_is_gone_on_the_next_request(course):
    anonymous = client_for()
    anonymous.get(f"/course/{course.slug}/")
    anonymous.get("/")

    services.course_unpublish(course=course)

    assert anonymous.get(f"/course/{course.slug}/").status_code == 404
    assert "Harmony" not in text_of(anonymous.get("/"))


def test_a_published_course_appears_in_the_catalogue_at_once():
    draft = CourseFactory(title="Brand new course", status=Course.Status.DRAFT)
    anonymous = client_for()
    anonymous.get("/")

    services.course_publish(course=draft)

    assert "Brand new course" in text_of(anonymous.get("/"))


def test_a_deleted_course_leaves_the_catalogue_at_once(course):
    anonymous = client_for()
    anonymous.get("/")

    services.course_delete(course=course)

    assert "Harmony" not in text_of(anonymous.get("/"))


# --- whole pages for anonymous visitors, fragments for everyone else --------------------------


@pytest.mark.parametrize("url", ["/", "/course/{slug}/"])
def test_anonymous_pages_come_from_the_cache_the_second_time(course, url):
    anonymous = client_for()
    url = url.format(slug=course.slug)

    first, second = anonymous.get(url), anonymous.get(url)

    assert (first[PAGE_CACHE_HEADER], second[PAGE_CACHE_HEADER]) == ("miss", "hit")
    assert second.content == first.content


@pytest.mark.parametrize("url", ["/", "/course/{slug}/"])
def test_a_cached_anonymous_page_has_the_headers_of_the_page_that_was_stored(course, url):
    anonymous = client_for()
    url = url.format(slug=course.slug)

    first, second = anonymous.get(url), anonymous.get(url)

    assert second[PAGE_CACHE_HEADER] == "hit"
    for header in ("Content-Type", "Content-Security-Policy", "X-Frame-Options", "Vary"):
        assert second[header] == first[header], header
    assert not second.cookies


def test_a_cached_anonymous_page_is_refused_to_a_host_that_is_not_allowed(course):
    client_for().get("/")

    assert client_for().get("/", HTTP_HOST="evil.example").status_code == 400


def test_logged_in_users_never_get_the_whole_page_cache(course, student):
    client_for().get(f"/course/{course.slug}/")

    response = client_for(student).get(f"/course/{course.slug}/")

    assert PAGE_CACHE_HEADER not in response
    assert student.username in text_of(response)


def test_each_logged_in_user_gets_their_own_name_button_and_csrf_token(course, student):
    outsider = UserFactory()
    member_client, outsider_client = client_for(student), client_for(outsider)
    url = f"/course/{course.slug}/"

    member_client.get(url)
    outsider_page = text_of(outsider_client.get(url))
    member_page = text_of(member_client.get(url))

    assert "Continue" in member_page and "Enroll now" not in member_page
    assert "Enroll now" in outsider_page and "Continue" not in outsider_page
    assert student.username not in outsider_page and outsider.username not in member_page
    assert outsider_client.cookies["csrftoken"].value != member_client.cookies["csrftoken"].value


def test_an_anonymous_page_cached_after_logged_in_visits_holds_nobody(course, student):
    client_for(student).get(f"/course/{course.slug}/")
    client_for(student).get("/")

    for url in (f"/course/{course.slug}/", "/"):
        page = text_of(client_for().get(url))
        assert student.username not in page
        assert "csrfmiddlewaretoken" not in page


def test_students_share_rendered_contents_but_not_their_progress(course, student):
    other = EnrollmentFactory(course=course).student
    done = _content(course)
    client_for(student).post(f"/students/content/{done.pk}/done/")

    mine = text_of(client_for(student).get(study_url(course)))
    theirs = text_of(client_for(other).get(study_url(course)))

    assert mine.count("Mark as not done") == 1
    assert "Mark as not done" not in theirs


def test_a_page_with_a_message_waiting_is_neither_served_from_nor_stored_in_the_cache():
    anonymous = client_for()
    anonymous.get("/")
    leaving = UserFactory()
    client = client_for(leaving)

    page = client.post("/accounts/profile/delete/", {"password": "pass-word-123"}, follow=True)
    later = client.get("/")

    assert "Your account has been deleted." in text_of(page)
    assert "Your account has been deleted." not in text_of(later)
    assert not list(get_messages(later.wsgi_request))


# --- Memcached down, and back -----------------------------------------------------------------

PAGES = ["catalogue", "course", "study", "api-list", "api-detail", "api-contents"]


def test_every_page_answers_with_fresh_content_while_memcached_is_down(
    course, student, _memcached, caplog
):
    for page in PAGES:
        for viewer in _viewers(page, student):
            _get(page, course, viewer)
    _memcached.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="educa.cache"):
            _retitle_course(course)
            _rename_text(course)
            course = fresh(course)
            responses = [
                (page, _get(page, course, viewer))
                for page in PAGES
                for viewer in _viewers(page, student)
            ]
    finally:
        _memcached.start()

    for page, response in responses:
        assert response.status_code == 200, page
        assert ("Renamed text" if page in ("study", "api-contents") else "Retitled") in text_of(
            response
        ), page
    assert any("not answering" in record.getMessage() for record in caplog.records)


def test_caching_resumes_when_memcached_returns(course, _memcached, caplog):
    anonymous = client_for()
    _memcached.stop()
    try:
        anonymous.get("/")
    finally:
        _memcached.start()
    time.sleep(0.6)  # the test's dead_timeout (production: 10 s)

    with caplog.at_level(logging.WARNING, logger="educa.cache"):
        anonymous.get("/")
        response = anonymous.get("/")

    assert response[PAGE_CACHE_HEADER] == "hit"
    assert any("answers again" in record.getMessage() for record in caplog.records)


def test_a_memcached_restart_logs_nobody_out(student, _memcached):
    client = client_for()
    log_in(client, student)

    _memcached.stop()
    _memcached.start()

    assert client.get("/students/courses/").status_code == 200


def test_a_dead_server_costs_no_connection_attempt_per_request(course, _memcached):
    anonymous = client_for()
    _memcached.stop()
    try:
        started = time.monotonic()
        for _ in range(20):
            assert anonymous.get("/").status_code == 200
        elapsed = time.monotonic() - started
    finally:
        _memcached.start()

    # Far less than 20 × (connect timeout 0.2 s): a failed server is left alone for a while.
    assert elapsed < 3


# --- observability ----------------------------------------------------------------------------


def test_hits_and_misses_are_logged_at_debug(course, caplog):
    anonymous = client_for()
    with caplog.at_level(logging.DEBUG, logger="educa.cache"):
        anonymous.get("/")
        anonymous.get("/")

    lines = [record.getMessage() for record in caplog.records if record.name == "educa.cache"]
    assert any(line.startswith("cache miss educa:catalogue:") for line in lines)
    assert any(line.startswith("cache hit educa:catalogue:") for line in lines)


def test_hits_and_misses_are_counted(course):
    anonymous = client_for()
    cache_stats_reset()

    anonymous.get(f"/course/{course.slug}/")
    anonymous.get(f"/course/{course.slug}/")

    stats = cache_stats()
    assert stats["hits"] >= 1 and stats["misses"] >= 1


def test_module_rows_are_not_read_again_for_a_cached_study_view(
    course, student, django_assert_max_num_queries
):
    client = client_for(student)
    client.get(study_url(course))

    # The page reads the contents' completions, not the contents and their items.
    with django_assert_max_num_queries(12) as queries:
        client.get(study_url(course))
    assert not any('"courses_text"' in query["sql"] for query in queries.captured_queries)
    assert Module.objects.filter(course=course).count() == 2


def test_with_several_servers_pages_survive_one_of_them_stopping(course, settings, caplog):
    servers = [MemcachedServer(), MemcachedServer()]
    for server in servers:
        server.start()
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": [server.location for server in servers],
        },
    }
    anonymous = client_for()
    try:
        anonymous.get(f"/course/{course.slug}/")
        servers[0].stop()
        with caplog.at_level(logging.WARNING, logger="educa.cache"):
            responses = [anonymous.get(url) for url in ("/", f"/course/{course.slug}/")]
    finally:
        cache.close()
        for server in servers:
            server.close()

    assert [response.status_code for response in responses] == [200, 200]
    assert "Harmony" in text_of(responses[1])


@pytest.mark.parametrize("url", ["/", "/course/{slug}/"])
def test_a_cached_anonymous_page_costs_one_query(course, url, django_assert_num_queries):
    anonymous = client_for()
    url = url.format(slug=course.slug)
    anonymous.get(url)

    # The version the entry is keyed on: the catalogue's, or the course's.
    with django_assert_num_queries(1):
        assert anonymous.get(url)[PAGE_CACHE_HEADER] == "hit"


def test_entries_cached_by_a_release_with_other_rendering_rules_are_not_read(settings):
    cache.set("educa:course:1:1:outline", "<p>**bold**</p>", version=1)

    assert settings.CACHES["default"]["VERSION"] == settings.CACHE_RENDERING_VERSION > 1
    assert cache.get("educa:course:1:1:outline") is None
