"""Who may request what: every address that names an object, as six kinds of user.

The table below is explicit; the URL configuration decides what it must cover. A new route
with an object parameter (an id or a slug) and no row fails
`test_every_object_route_has_a_row_in_the_table`, so no address escapes the matrix.

Bad data is a 400: every request that changes something (any route, with an object parameter
or not) is sent invalid data by a user allowed to make it, as the BAD_DATA table says. A new
state-changing route or method without a row there, or in NO_DATA, fails
`test_every_state_changing_request_has_a_bad_data_row`.

Each case builds its own world, so a deletion or an unenrollment cannot leak into the next.
"""

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.messages.storage.base import BaseStorage
from django.shortcuts import resolve_url
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.generic.edit import ProcessFormView
from rest_framework.authtoken.models import Token

from chat import services as chat_services
from chat.services import message_create, message_pin
from courses import services
from courses.forms import ORDER_PAYLOAD_INVALID
from courses.models import File, Quiz
from quizzes.services import attempt_start
from students.models import Certificate
from students.services import ACTIVATION_LINK_INVALID, content_completion_create
from tests.chat.conftest import open_socket, room_path
from tests.courses.uploads import png_upload, upload
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    QuestionFactory,
    SubjectFactory,
    UserFactory,
)

from .routes import _REGEX_GROUP, _ROUTE_PARAMETER, project_routes

ROLES = ("anonymous", "stranger", "student", "other_instructor", "owner", "staff")

# URL parameters that name an object somebody may or may not be allowed to see.
OBJECT_PARAMETERS = {
    "pk",
    "id",
    "module_id",
    "content_id",
    "course_id",
    "attempt_id",
    "certificate_id",
    "slug",
    "subject",
}

# Routes left out of the matrix, by name prefix (or pattern prefix when unnamed), with why.
NOT_IN_MATRIX = {
    "admin:": "Django's admin: its own staff and permission checks, not the site's rules",
    "admin/": "the admin's unnamed redirects and catch-all",
}

LOGIN = "log-in"  # a 302 to the log-in page

# (route name, method) -> expected answer for each of ROLES, on a published course.
# HTML: anonymous users are sent to log in, users without the permission get 403, another
# instructor's objects are 404. API: 401 for anonymous. The CMS checks the permission before it
# fetches the object, so students and staff get 403 whichever object is named.
PUBLISHED = {
    # --- public pages
    ("course_detail", "GET"): (200, 200, 200, 200, 200, 200),
    ("course_list_subject", "GET"): (200, 200, 200, 200, 200, 200),
    # A certificate's id is its secret: whoever has it may verify it, on the page or the PDF.
    ("certificate_detail", "GET"): (200, 200, 200, 200, 200, 200),
    ("certificate_pdf", "GET"): (200, 200, 200, 200, 200, 200),
    # --- every user's own: the name their certificates print, their certificates
    ("certificate_name", "GET"): (LOGIN, 200, 200, 200, 200, 200),
    ("api:my-certificate-list", "GET"): (401, 200, 200, 200, 200, 200),
    # --- the instructor's CMS
    ("instructor_home", "GET"): (LOGIN, 403, 403, 200, 200, 403),
    # The old address of the instructor's course list: a permanent redirect to the home, which
    # then decides.
    ("manage_course_list", "GET"): (301, 301, 301, 301, 301, 301),
    ("course_edit", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("course_edit", "POST"): (LOGIN, 403, 403, 404, 302, 403),
    ("course_delete", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("course_delete", "POST"): (LOGIN, 403, 403, 404, 302, 403),
    ("course_module_update", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("course_publish", "POST"): (LOGIN, 403, 403, 404, 302, 403),
    ("course_unpublish", "POST"): (LOGIN, 403, 403, 404, 302, 403),
    ("course_grades", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("certificate_revoke", "POST"): (LOGIN, 403, 403, 404, 302, 403),
    # Staff read every course's analytics, drafts included.
    ("course_analytics", "GET"): (LOGIN, 403, 403, 404, 200, 200),
    ("module_content_list", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("module_content_create", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("module_content_update", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("module_content_delete", "POST"): (LOGIN, 403, 403, 404, 302, 403),
    ("module_quiz_create", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("module_quiz_update", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    # --- members: the owner and enrolled students
    ("content_file", "GET"): (LOGIN, 403, 200, 403, 200, 403),
    ("student_course_detail", "GET"): (LOGIN, 403, 200, 403, 200, 403),
    ("student_course_detail_module", "GET"): (LOGIN, 403, 200, 403, 200, 403),
    ("content_mark_done", "POST"): (LOGIN, 403, 302, 403, 302, 403),
    ("content_mark_undone", "POST"): (LOGIN, 403, 302, 403, 302, 403),
    ("chat_room", "GET"): (LOGIN, 403, 200, 403, 200, 403),
    # Students take quizzes; their instructor previews and is refused an attempt.
    ("quiz_attempt_start", "POST"): (LOGIN, 403, 302, 403, 403, 403),
    # An attempt is its student's alone: a 404 for anyone else.
    ("quiz_attempt_submit", "POST"): (LOGIN, 404, 302, 404, 404, 404),
    # A file the student attached to a message of theirs.
    ("chat_attachment", "GET"): (LOGIN, 403, 200, 403, 200, 403),
    ("chat_attachment_thumbnail", "GET"): (LOGIN, 403, 200, 403, 200, 403),
    # --- API
    ("api:subject-detail", "GET"): (200, 200, 200, 200, 200, 200),
    ("api:course-detail", "GET"): (200, 200, 200, 200, 200, 200),
    ("api:course-detail", "PATCH"): (401, 403, 403, 404, 200, 403),
    ("api:course-detail", "PUT"): (401, 403, 403, 404, 200, 403),
    ("api:course-detail", "DELETE"): (401, 403, 403, 404, 204, 403),
    ("api:course-contents", "GET"): (401, 403, 200, 403, 200, 403),
    ("api:course-modules", "POST"): (401, 403, 403, 404, 201, 403),
    ("api:course-modules-order", "POST"): (401, 403, 403, 404, 200, 403),
    ("api:course-publish", "POST"): (401, 403, 403, 404, 200, 403),
    ("api:course-unpublish", "POST"): (401, 403, 403, 404, 200, 403),
    # Both idempotent for anyone; the owner is never a student of their own course: a 400
    # saying so.
    ("api:course-enrollment-enroll", "POST"): (401, 200, 200, 200, 400, 200),
    ("api:course-enrollment-unenroll", "POST"): (401, 200, 200, 200, 400, 200),
    ("api:course-messages-messages", "GET"): (401, 403, 200, 403, 200, 403),
    ("api:course-messages-pins", "GET"): (401, 403, 200, 403, 200, 403),
    ("api:course-messages-questions", "GET"): (401, 403, 200, 403, 200, 403),
    # A chat message's earlier texts (the student wrote it): for the instructor and staff.
    ("api:message-edits", "GET"): (401, 404, 403, 404, 200, 200),
    ("api:course-messages-attachments", "POST"): (401, 403, 201, 403, 201, 403),
    ("api:module-detail", "GET"): (401, 403, 403, 404, 200, 403),
    ("api:module-detail", "PATCH"): (401, 403, 403, 404, 200, 403),
    ("api:module-detail", "DELETE"): (401, 403, 403, 404, 204, 403),
    ("api:module-contents", "POST"): (401, 403, 403, 404, 201, 403),
    ("api:module-contents-order", "POST"): (401, 403, 403, 404, 200, 403),
    ("api:content-detail", "GET"): (401, 403, 403, 404, 200, 403),
    ("api:content-detail", "PATCH"): (401, 403, 403, 404, 200, 403),
    ("api:content-detail", "DELETE"): (401, 403, 403, 404, 204, 403),
    ("api:content-completion-done", "POST"): (401, 403, 200, 403, 200, 403),
    ("api:content-completion-done", "DELETE"): (401, 403, 200, 403, 200, 403),
    ("api:content-attempts-attempts", "GET"): (401, 403, 200, 403, 200, 403),
    ("api:content-attempts-attempts", "POST"): (401, 403, 201, 403, 403, 403),
    ("api:attempt-detail", "GET"): (401, 404, 200, 404, 404, 404),
    ("api:attempt-submit", "POST"): (401, 404, 200, 404, 404, 404),
    # --- the language links: a redirect back for everyone
    ("language_switch", "GET"): (302, 302, 302, 302, 302, 302),
    ("javascript_catalog", "GET"): (200, 200, 200, 200, 200, 200),
}

# The same course as a draft (its student still enrolled): only its owner sees it; for everyone
# else it does not exist. Rows not listed here do not change (the CMS answers as above).
DRAFT = {
    ("course_detail", "GET"): (404, 404, 404, 404, 200, 404),
    ("content_file", "GET"): (LOGIN, 404, 404, 404, 200, 404),
    ("student_course_detail", "GET"): (LOGIN, 404, 404, 404, 200, 404),
    ("student_course_detail_module", "GET"): (LOGIN, 404, 404, 404, 200, 404),
    ("content_mark_done", "POST"): (LOGIN, 404, 404, 404, 302, 404),
    ("content_mark_undone", "POST"): (LOGIN, 404, 404, 404, 302, 404),
    ("chat_room", "GET"): (LOGIN, 404, 404, 404, 200, 404),
    ("chat_attachment", "GET"): (LOGIN, 404, 404, 404, 200, 404),
    ("chat_attachment_thumbnail", "GET"): (LOGIN, 404, 404, 404, 200, 404),
    ("api:course-detail", "GET"): (404, 404, 404, 404, 200, 404),
    ("api:course-contents", "GET"): (401, 404, 404, 404, 200, 404),
    ("api:course-enrollment-enroll", "POST"): (401, 404, 404, 404, 404, 404),
    ("api:course-enrollment-unenroll", "POST"): (401, 404, 404, 404, 404, 404),
    ("api:course-messages-messages", "GET"): (401, 404, 404, 404, 200, 404),
    ("api:course-messages-pins", "GET"): (401, 404, 404, 404, 200, 404),
    ("api:course-messages-questions", "GET"): (401, 404, 404, 404, 200, 404),
    ("api:message-edits", "GET"): (401, 404, 404, 404, 200, 200),
    ("api:course-messages-attachments", "POST"): (401, 404, 404, 404, 201, 404),
    ("api:content-completion-done", "POST"): (401, 404, 404, 404, 200, 404),
    ("api:content-completion-done", "DELETE"): (401, 404, 404, 404, 200, 404),
    # The owner still sees a draft's gradebook; a certificate stays verifiable (and revocable).
    ("course_grades", "GET"): (LOGIN, 403, 403, 404, 200, 403),
    ("quiz_attempt_start", "POST"): (LOGIN, 404, 404, 404, 403, 404),
    ("quiz_attempt_submit", "POST"): (LOGIN, 404, 404, 404, 404, 404),
    ("api:content-attempts-attempts", "GET"): (401, 404, 404, 404, 200, 404),
    ("api:content-attempts-attempts", "POST"): (401, 404, 404, 404, 403, 404),
    ("api:attempt-detail", "GET"): (401, 404, 404, 404, 404, 404),
    ("api:attempt-submit", "POST"): (401, 404, 404, 404, 404, 404),
}

# A valid body for each state-changing request, so that only the permission decides.
BODIES = {
    ("course_edit", "POST"): lambda world: {
        "subject": world.course.subject_id,
        "title": "Renamed",
        "slug": world.course.slug,
        "overview": "New overview.",
    },
    ("api:course-detail", "PATCH"): lambda world: {"title": "Renamed"},
    ("api:course-detail", "PUT"): lambda world: {
        "subject": world.course.subject_id,
        "title": "Renamed",
        "overview": "New overview.",
    },
    ("api:course-modules", "POST"): lambda world: {"title": "Another module"},
    ("api:course-modules-order", "POST"): lambda world: {"ids": [world.module.pk]},
    ("api:module-detail", "PATCH"): lambda world: {"title": "Renamed"},
    ("api:module-contents", "POST"): lambda world: {
        "kind": "text",
        "title": "A text",
        "content": "Some *markdown*.",
    },
    ("api:module-contents-order", "POST"): lambda world: {"ids": [world.content.pk]},
    ("api:content-detail", "PATCH"): lambda world: {"title": "Renamed"},
    ("api:attempt-submit", "POST"): lambda world: {"answers": {}},
    ("api:course-messages-attachments", "POST"): lambda world: {"file": png_upload("picture.png")},
}

# Requests whose valid body is multipart (a file upload), not JSON.
MULTIPART = {("api:course-messages-attachments", "POST")}

# POST-only actions answer another method with 405. Asked by the owner, who may POST to all of
# them: the CMS and the API check the log-in and the permission before the method.
POST_ONLY = [
    "course_publish",
    "course_unpublish",
    "module_content_delete",
    "content_mark_done",
    "content_mark_undone",
    "certificate_revoke",
    "module_order",
    "content_order",
    "student_enroll_course",
    "student_unenroll_course",
    "api:course-publish",
    "api:course-unpublish",
    "api:course-enrollment-enroll",
    "api:course-modules-order",
    "api:module-contents-order",
    "quiz_attempt_start",
    "quiz_attempt_submit",
    "api:attempt-submit",
]


def route_parameters(route) -> set[str]:
    return set(_ROUTE_PARAMETER.findall(route.template)) | set(_REGEX_GROUP.findall(route.template))


def in_matrix(route) -> bool:
    return not (route.name or route.template).startswith(tuple(NOT_IN_MATRIX))


def object_routes():
    """Named routes with an object parameter, outside NOT_IN_MATRIX."""
    return [
        route
        for route in project_routes()
        if route.name and route_parameters(route) & OBJECT_PARAMETERS and in_matrix(route)
    ]


@pytest.fixture
def world(db, settings, tmp_path):
    """A published course with a module and a file content, and one user of each role."""
    settings.MEDIA_ROOT = tmp_path / "media"
    instructors = Group.objects.get(name="Instructors")
    owner = UserFactory(username="owner")
    other_instructor = UserFactory(username="other-instructor")
    for instructor in (owner, other_instructor):
        instructor.groups.add(instructors)
    # Staff without superuser rights: a student everywhere outside the admin.
    staff = UserFactory(username="staff", is_staff=True)
    course = CourseFactory(owner=owner, subject=SubjectFactory(slug="matrix"), slug="matrix")
    module = ModuleFactory(course=course)
    item = File(owner=owner, title="Notes", file=upload("notes.txt", b"notes"))
    content = services.content_create(module=module, item=item)
    quiz_content = services.content_create(module=module, item=Quiz(title="Check", owner=owner))
    QuestionFactory(quiz=quiz_content.item)
    student = EnrollmentFactory(course=course, student=UserFactory(username="student")).student
    attempt = attempt_start(student=student, content=quiz_content)
    message, _ = message_create(author=student, course=course, text="Hello")
    attachment = chat_services.attachment_create(
        uploader=student, course=course, upload=png_upload("photo.png")
    )
    chat_services.message_create_many(
        [
            chat_services.MessageDraft(
                author=student, course_id=course.pk, text="a photo", attachment_ids=(attachment.pk,)
            )
        ]
    )
    # The other instructor owns a course too, so a 404 is about ownership, not an empty CMS.
    CourseFactory(owner=other_instructor)
    # Another student completed the course, its quiz passed: their certificate is issued.
    graduate = EnrollmentFactory(
        course=course, student=UserFactory(username="graduate", first_name="Gra", last_name="Duate")
    ).student
    for done in (content, quiz_content):
        content_completion_create(student=graduate, content=done, quiz_passed=done is quiz_content)
    certificate = Certificate.objects.get(student=graduate)
    return SimpleNamespace(
        users={
            "anonymous": None,
            "stranger": UserFactory(username="stranger"),
            "student": student,
            "other_instructor": other_instructor,
            "owner": owner,
            "staff": staff,
        },
        course=course,
        module=module,
        item=item,
        content=content,
        certificate=certificate,
        quiz_content=quiz_content,
        attempt=attempt,
        message=message,
        attachment=attachment,
    )


def samples(world) -> dict:
    return {
        "pk": world.course.pk,
        "course_id": world.course.pk,
        "module_id": world.module.pk,
        "id": world.content.pk,
        "content_id": world.content.pk,
        "model_name": "file",
        "slug": world.course.slug,
        "subject": world.course.subject.slug,
        "certificate_id": world.certificate.pk,
        "code": "es",
        "module_content_update": {"id": world.item.pk},
        "api:subject-detail": {"pk": world.course.subject_id},
        "api:module-detail": {"pk": world.module.pk},
        "api:module-contents": {"pk": world.module.pk},
        "api:module-contents-order": {"pk": world.module.pk},
        "api:content-detail": {"pk": world.content.pk},
        "api:content-completion-done": {"pk": world.content.pk},
        "module_quiz_update": {"id": world.quiz_content.object_id},
        "quiz_attempt_start": {"content_id": world.quiz_content.pk},
        "quiz_attempt_submit": {"attempt_id": world.attempt.pk},
        "api:content-attempts-attempts": {"pk": world.quiz_content.pk},
        "api:attempt-detail": {"pk": world.attempt.pk},
        "api:attempt-submit": {"pk": world.attempt.pk},
        "api:message-edits": {"pk": world.message.pk},
        "chat_attachment": {"id": world.attachment.pk},
        "chat_attachment_thumbnail": {"id": world.attachment.pk},
    }


def route_url(name: str, world) -> str:
    route = next(route for route in project_routes() if route.name == name)
    return route.url(samples(world))


def client_for(user, *, api: bool) -> Client:
    """Session log-in for pages, a token for the API (whose anonymous answer is then a 401)."""
    if user is None:
        return Client()
    if api:
        token = Token.objects.get_or_create(user=user)[0].key
        return Client(HTTP_AUTHORIZATION=f"Token {token}")
    client = Client()
    client.force_login(user)
    return client


def answer(response):
    """The status code, or LOGIN for a redirect to the log-in page."""
    login_url = resolve_url(settings.LOGIN_URL)
    if response.status_code == 302 and response["Location"].startswith(login_url):
        return LOGIN
    return response.status_code


def request(world, name: str, method: str, role: str):
    api = name.startswith("api:")
    client = client_for(world.users[role], api=api)
    url = route_url(name, world)
    body = BODIES.get((name, method), lambda world: {})(world)
    if (name, method) in MULTIPART:
        return client.generic(method, url, *_multipart(body))
    if api:
        return client.generic(method, url, json.dumps(body), content_type="application/json")
    return client.generic(method, url, urlencode(body), content_type=_FORM)


_FORM = "application/x-www-form-urlencoded"


def _multipart(data: dict) -> tuple[bytes, str]:
    """A body and its content type for files and fields, as Django's test client posts them."""
    return encode_multipart(BOUNDARY, data), MULTIPART_CONTENT


def matrix_cases(table):
    return [
        pytest.param(name, method, role, expected, id=f"{name}-{method}-{role}")
        for (name, method), row in table.items()
        for role, expected in zip(ROLES, row, strict=True)
    ]


# --- the table covers the URL configuration --------------------------------------------------


def test_every_object_route_has_a_row_in_the_table():
    names_in_table = {name for name, _ in PUBLISHED}
    missing = sorted(route.name for route in object_routes() if route.name not in names_in_table)

    assert missing == []


def test_every_row_names_an_existing_route():
    names = {route.name for route in project_routes()}
    stale = sorted({name for name, _ in {**PUBLISHED, **DRAFT}} - names)
    stale += [name for name in POST_ONLY if name not in names]

    assert stale == []


# --- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method", "role", "expected"), matrix_cases(PUBLISHED))
def test_published_course_answers_as_the_table_says(world, name, method, role, expected):
    assert answer(request(world, name, method, role)) == expected


@pytest.mark.parametrize(
    ("name", "method", "role", "expected"), matrix_cases({**PUBLISHED, **DRAFT})
)
def test_draft_course_answers_as_the_table_says(world, name, method, role, expected):
    services.course_unpublish(course=world.course)

    assert answer(request(world, name, method, role)) == expected


# Requests a route answers differently by their query: the same permission as the route's row.
QUERY_VARIANTS = {
    ("api:course-messages-messages", "GET", "search=exam"): (401, 403, 200, 403, 200, 403),
}


@pytest.mark.parametrize(
    ("name", "method", "query", "role", "expected"),
    [
        pytest.param(name, method, query, role, expected, id=f"{name}-{method}-{query}-{role}")
        for (name, method, query), row in QUERY_VARIANTS.items()
        for role, expected in zip(ROLES, row, strict=True)
    ],
)
def test_query_variants_answer_as_the_table_says(world, name, method, query, role, expected):
    client = client_for(world.users[role], api=name.startswith("api:"))

    response = client.generic(method, f"{route_url(name, world)}?{query}")

    assert answer(response) == expected


PAGES_SHOWN = [
    pytest.param(name, role, id=f"{name}-{role}")
    for (name, method), row in PUBLISHED.items()
    if method == "GET" and not name.startswith("api:")
    for role, expected in zip(ROLES, row, strict=True)
    if expected == 200
]


@pytest.mark.parametrize(("name", "role"), PAGES_SHOWN)
def test_no_page_hides_the_notices_behind_its_own_messages_variable(world, name, role):
    response = request(world, name, "GET", role)
    shadowed = [
        context.template_name
        for context in response.context or []
        if "messages" in context and not isinstance(context["messages"], BaseStorage)
    ]

    assert shadowed == []


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_action_answers_a_get_with_405(world, name):
    url = route_url(name, world)
    client = client_for(world.users["owner"], api=name.startswith("api:"))

    assert client.get(url).status_code == 405


# --- bad data: a 400 that says what is wrong --------------------------------------------------

STATE_CHANGING_METHODS = ("post", "put", "patch", "delete")

# Function views tell the URL configuration nothing of their methods: each is listed, with why
# it changes nothing.
FUNCTION_VIEWS = {
    "healthz": "GET only (require_GET)",
    "readyz": "GET only (require_GET)",
    "api/(?P<path>.*)": "the API's JSON 404, whatever the method",
}

# The CMS's JSON endpoints outside the API (the API's are all JSON).
JSON_VIEWS = {"module_order", "content_order"}

ADDRESS_ONLY = "its only input is the object its address names (the permission matrix)"

# Requests with nothing to send but the address (or the session), so no data to get wrong.
NO_DATA = {
    ("logout", "POST"): "ends the session",
    ("course_delete", "POST"): ADDRESS_ONLY,
    ("course_publish", "POST"): ADDRESS_ONLY,
    ("course_unpublish", "POST"): ADDRESS_ONLY,
    ("module_content_delete", "POST"): ADDRESS_ONLY,
    ("content_mark_done", "POST"): ADDRESS_ONLY,
    ("content_mark_undone", "POST"): ADDRESS_ONLY,
    ("certificate_revoke", "POST"): ADDRESS_ONLY,
    ("quiz_attempt_start", "POST"): ADDRESS_ONLY,
    ("api:content-attempts-attempts", "POST"): ADDRESS_ONLY,
    ("api:token", "DELETE"): "revokes the token it is sent with",
    ("mention_emails_off", "POST"): "its only input is the signed link in its address",
    ("api:course-detail", "DELETE"): ADDRESS_ONLY,
    ("api:course-publish", "POST"): ADDRESS_ONLY,
    ("api:course-unpublish", "POST"): ADDRESS_ONLY,
    ("api:course-enrollment-enroll", "POST"): ADDRESS_ONLY,
    ("api:course-enrollment-unenroll", "POST"): ADDRESS_ONLY,
    ("api:module-detail", "DELETE"): ADDRESS_ONLY,
    ("api:content-detail", "DELETE"): ADDRESS_ONLY,
    ("api:content-completion-done", "POST"): ADDRESS_ONLY,
    ("api:content-completion-done", "DELETE"): ADDRESS_ONLY,
}


def reset_link_target(client, world) -> str:
    """Follows a real password-reset link of the student: Django keeps the token in the
    session and sends the browser on to the form's own address."""
    user = world.users["student"]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
    return client.get(link)["Location"]


@dataclass(frozen=True)
class BadData:
    """Invalid `data` (a form, a JSON body, or a str sent as it is) from `role`, who may make
    the request; the answer must show `says`."""

    role: str
    data: Callable[[SimpleNamespace], dict | str]
    says: str
    # (client, world) -> where to send it, when not to the route's own address
    address: Callable[[Client, SimpleNamespace], str] | None = None


REQUIRED = "This field is required."
BLANK = "This field may not be blank."
QUIZ_WITHOUT_TITLE = {
    "title": "",
    "pass_mark": "50",
    "answers_shown": "never",
    "questions-TOTAL_FORMS": "0",
    "questions-INITIAL_FORMS": "0",
}
NEW_PASSWORDS = {"new_password1": "a-new-pass-word-1", "new_password2": "another-pass-word-2"}

# (route name, method) -> the bad data and what the answer says about it. HTML forms are
# re-rendered with their errors, JSON endpoints name the problem in their message.
BAD_DATA = {
    # --- accounts
    ("login", "POST"): BadData(
        "anonymous",
        lambda world: {"username": "owner", "password": "wrong"},
        "Please enter a correct username and password.",
    ),
    ("password_change", "POST"): BadData(
        "student",
        lambda world: {"old_password": "wrong", **NEW_PASSWORDS},
        "Your old password was entered incorrectly.",
    ),
    ("password_reset", "POST"): BadData(
        "anonymous", lambda world: {"email": "not-an-address"}, "Enter a valid email address."
    ),
    ("password_reset_confirm", "POST"): BadData(
        "anonymous",
        lambda world: NEW_PASSWORDS,
        "The two password fields didn’t match.",
        address=reset_link_target,
    ),
    ("profile", "POST"): BadData(
        "student",
        lambda world: {"first_name": "A", "last_name": "B", "email": "not-an-address"},
        "Enter a valid email address.",
    ),
    ("certificate_name", "POST"): BadData(
        "student", lambda world: {"first_name": "Stu", "last_name": ""}, REQUIRED
    ),
    ("account_delete", "POST"): BadData(
        "student", lambda world: {"password": "wrong"}, "This is not your password."
    ),
    ("account_activate", "POST"): BadData(
        "anonymous",
        lambda world: {},
        str(ACTIVATION_LINK_INVALID),
        address=lambda client, world: reverse("account_activate", args=["MQ", "spent-token"]),
    ),
    ("student_registration", "POST"): BadData(
        "anonymous",
        lambda world: {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": "a-new-pass-word-1",
            "password2": "another-pass-word-2",
        },
        "The two password fields didn’t match.",
    ),
    # --- enrollment
    ("student_enroll_course", "POST"): BadData(
        "stranger", lambda world: {"course_id": "first"}, "Enter a whole number."
    ),
    ("student_unenroll_course", "POST"): BadData(
        "student", lambda world: {"course_id": ""}, REQUIRED
    ),
    # --- the instructor's CMS
    ("course_create", "POST"): BadData(
        "owner",
        lambda world: {"subject": world.course.subject_id, "title": "", "overview": "Text."},
        REQUIRED,
    ),
    ("course_edit", "POST"): BadData(
        "owner",
        lambda world: {"subject": world.course.subject_id, "title": "", "overview": "Text."},
        REQUIRED,
    ),
    ("course_module_update", "POST"): BadData(
        "owner",
        lambda world: {
            "modules-TOTAL_FORMS": "1",
            "modules-INITIAL_FORMS": "0",
            "modules-0-title": "",
            "modules-0-description": "A module without a title.",
        },
        REQUIRED,
    ),
    ("module_content_create", "POST"): BadData("owner", lambda world: {"title": ""}, REQUIRED),
    ("module_content_update", "POST"): BadData("owner", lambda world: {"title": ""}, REQUIRED),
    ("module_quiz_create", "POST"): BadData("owner", lambda world: QUIZ_WITHOUT_TITLE, REQUIRED),
    ("module_quiz_update", "POST"): BadData("owner", lambda world: QUIZ_WITHOUT_TITLE, REQUIRED),
    ("quiz_attempt_submit", "POST"): BadData(
        "student",
        lambda world: {f"answer-{world.attempt.questions[0]['id']}": "first"},
        "this answer could not be read.",
    ),
    ("module_order", "POST"): BadData("owner", lambda world: '{"1": ', str(ORDER_PAYLOAD_INVALID)),
    ("content_order", "POST"): BadData(
        "owner", lambda world: json.dumps({world.content.pk: -1}), str(ORDER_PAYLOAD_INVALID)
    ),
    # --- API
    ("api:token", "POST"): BadData(
        "anonymous", lambda world: {"username": "owner"}, f"password: {REQUIRED}"
    ),
    ("api:course-list", "POST"): BadData(
        "owner",
        lambda world: {"subject": world.course.subject_id, "title": "", "overview": "Text."},
        f"title: {BLANK}",
    ),
    ("api:course-detail", "PUT"): BadData(
        "owner",
        lambda world: {"subject": world.course.subject_id, "title": "", "overview": "Text."},
        f"title: {BLANK}",
    ),
    ("api:course-detail", "PATCH"): BadData(
        "owner", lambda world: {"title": ""}, f"title: {BLANK}"
    ),
    ("api:course-modules", "POST"): BadData(
        "owner", lambda world: {"title": ""}, f"title: {BLANK}"
    ),
    ("api:course-modules-order", "POST"): BadData(
        "owner", lambda world: {"ids": "first"}, "ids: Expected a list of items"
    ),
    ("api:notification-read", "POST"): BadData(
        "student", lambda world: {"ids": "first"}, "ids: Expected a list of items"
    ),
    ("api:module-detail", "PUT"): BadData("owner", lambda world: {"title": ""}, f"title: {BLANK}"),
    ("api:module-detail", "PATCH"): BadData(
        "owner", lambda world: {"title": ""}, f"title: {BLANK}"
    ),
    ("api:module-contents", "POST"): BadData(
        "owner", lambda world: {"kind": "poem", "title": "A poem"}, "is not a valid choice."
    ),
    ("api:module-contents-order", "POST"): BadData(
        "owner",
        lambda world: {"ids": [world.content.pk, world.content.pk]},
        "ids: An id appears more than once.",
    ),
    ("api:content-detail", "PUT"): BadData(
        "owner",
        lambda world: {"kind": "text", "title": "Now a text"},
        "kind: This content is a file; its kind cannot change.",
    ),
    ("api:content-detail", "PATCH"): BadData(
        "owner", lambda world: {"title": ""}, f"title: {BLANK}"
    ),
    ("api:attempt-submit", "POST"): BadData(
        "student",
        lambda world: {"answers": {str(world.attempt.questions[0]["id"]): "first"}},
        "Send a list of option ids.",
    ),
    ("api:course-messages-attachments", "POST"): BadData(
        "student", lambda world: {}, "file: No file was submitted."
    ),
}


def view_methods(route) -> set[str] | None:
    """The state-changing methods a route's view answers; None for a function view."""
    actions = getattr(route.callback, "actions", None)
    if actions is not None:  # a DRF view set: the methods its router mapped to actions
        return {method.upper() for method in actions if method in STATE_CHANGING_METHODS}
    view_class = getattr(route.callback, "view_class", None)
    if view_class is None:
        return None
    # Django's FormView answers PUT like POST but reads request.POST, which Django fills for a
    # POST only: no client of ours sends it, and the form it gets is always empty.
    return {
        method.upper()
        for method in view_class.http_method_names
        if method in STATE_CHANGING_METHODS
        and getattr(view_class, method, None) not in (None, ProcessFormView.put)
    }


def state_changing_requests() -> set[tuple[str, str]]:
    """(route name, method) of every request in the URL configuration that may change
    something, outside NOT_IN_MATRIX."""
    return {
        (route.name or route.template, method)
        for route in project_routes()
        if in_matrix(route)
        for method in view_methods(route) or ()
    }


def send_bad_data(world, name: str, method: str, data=None):
    """The request of BAD_DATA's row, with its data or the `data` given."""
    bad = BAD_DATA[(name, method)]
    api = name.startswith("api:")
    client = client_for(world.users[bad.role], api=api)
    url = bad.address(client, world) if bad.address else route_url(name, world)
    data = bad.data(world) if data is None else data
    if api or name in JSON_VIEWS:
        body = data if isinstance(data, str) else json.dumps(data)
        return client.generic(method, url, body, content_type="application/json")
    return client.generic(method, url, urlencode(data), content_type=_FORM)


def shown_text(response) -> str:
    """What the answer tells its reader: a JSON body's message, or the page's text."""
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        return body.get("message") or body.get("error") or ""
    return html.unescape(response.content.decode())


def test_every_state_changing_request_has_a_bad_data_row():
    missing = sorted(state_changing_requests() - set(BAD_DATA) - set(NO_DATA))

    assert missing == []


def test_every_bad_data_row_names_a_state_changing_request():
    rows = set(BAD_DATA) | set(NO_DATA)

    assert sorted(rows - state_changing_requests()) == []


def test_every_function_view_is_listed_as_changing_nothing():
    function_views = {
        route.name or route.template
        for route in project_routes()
        if in_matrix(route) and view_methods(route) is None
    }

    assert function_views == set(FUNCTION_VIEWS)


@pytest.mark.parametrize(
    ("name", "method"), [pytest.param(*key, id="-".join(key)) for key in BAD_DATA]
)
def test_bad_data_is_answered_with_400_saying_what_is_wrong(world, name, method):
    response = send_bad_data(world, name, method)

    says = BAD_DATA[(name, method)].says
    assert (response.status_code, says in shown_text(response)) == (400, True)


JSON_REQUESTS = [key for key in BAD_DATA if key[0].startswith("api:") or key[0] in JSON_VIEWS]


@pytest.mark.parametrize(
    ("name", "method"), [pytest.param(*key, id="-".join(key)) for key in JSON_REQUESTS]
)
def test_malformed_json_is_answered_with_400_and_a_message(world, name, method):
    response = send_bad_data(world, name, method, data='{"title": ')

    assert (response.status_code, shown_text(response) != "") == (400, True)


# --- the chat room's socket ---------------------------------------------------------------------

SOCKET_EXPECTED = {
    "anonymous": 4401,
    "stranger": 4403,
    "student": None,  # accepted
    "other_instructor": 4403,
    "owner": None,
    "staff": 4403,
}


@pytest.fixture
def socket_world(transactional_db, redis_channel_layer):
    # Transactional tests flush the Instructors group; the socket only asks who owns the course.
    owner, other_instructor = UserFactory(), UserFactory()
    course = CourseFactory(owner=owner)
    CourseFactory(owner=other_instructor)
    return SimpleNamespace(
        course=course,
        users={
            "anonymous": None,
            "stranger": UserFactory(),
            "student": EnrollmentFactory(course=course).student,
            "other_instructor": other_instructor,
            "owner": owner,
            "staff": UserFactory(is_staff=True),
        },
    )


async def socket_outcome(path, user):
    """None if the socket was accepted and got the room's presence, else its close code."""
    communicator, connected, code = await open_socket(path, user=user)
    try:
        assert connected, f"refused at the handshake ({code})"
        output = await communicator.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return output.get("code")
        return None
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("role", ROLES)
async def test_chat_socket_answers_as_the_table_says(socket_world, role):
    user = socket_world.users[role]

    outcome = await socket_outcome(room_path(socket_world.course.pk), user)

    assert outcome == SOCKET_EXPECTED[role]


async def test_chat_socket_for_an_unknown_course_is_closed_with_4404(socket_world):
    outcome = await socket_outcome(room_path(999_999), socket_world.users["owner"])

    assert outcome == 4404


@pytest.mark.parametrize(
    ("role", "expected"),
    [("stranger", 4404), ("student", 4404), ("other_instructor", 4404), ("owner", None)],
)
async def test_chat_socket_of_a_draft_is_open_to_its_owner_only(socket_world, role, expected):
    course = socket_world.course
    course.status = course.Status.DRAFT
    await database_sync_to_async(course.save)()

    outcome = await socket_outcome(room_path(course.pk), socket_world.users[role])

    assert outcome == expected


# --- the chat's frames that change a sent message ------------------------------------------------
# Only members have a socket (SOCKET_EXPECTED: strangers, other instructors and staff are closed
# with 4403 before any frame), so a frame's rule is between the message's author, another member
# and the course's owner. Each answer: the `message.updated` everyone gets, or an error code.

FRAME_ROLES = ("author", "other_member", "owner")
FRAME_EXPECTED = {
    "edit": ("message.updated", "forbidden", "forbidden"),
    "react": ("message.updated", "message.updated", "message.updated"),
    "pin": ("forbidden", "forbidden", "message.updated"),
    "unpin": ("forbidden", "forbidden", "message.updated"),
    "delete": ("message.deleted", "forbidden", "message.deleted"),
    # The message is a question (its author the asker), the answer a message of the owner's.
    "answer": ("message.updated", "forbidden", "message.updated"),
}
FRAME_BODIES = {"edit": {"message": "Edited"}, "react": {"emoji": "👍"}}


@pytest.mark.parametrize(
    ("kind", "role", "expected"),
    [
        pytest.param(kind, role, expected, id=f"{kind}-{role}")
        for kind, row in FRAME_EXPECTED.items()
        for role, expected in zip(FRAME_ROLES, row, strict=True)
    ],
)
async def test_chat_frames_on_a_message_answer_as_the_table_says(
    socket_world, kind, role, expected
):
    course = socket_world.course
    author = socket_world.users["student"]
    users = {
        "author": author,
        "other_member": await database_sync_to_async(
            lambda: EnrollmentFactory(course=course).student
        )(),
        "owner": socket_world.users["owner"],
    }
    about = None
    if kind == "answer":
        about = (await database_sync_to_async(ContentFactory)(module__course=course)).pk
    message, _ = await database_sync_to_async(message_create)(
        author=author, course=course, text="Hello", about=about
    )
    body = FRAME_BODIES.get(kind, {})
    if kind == "unpin":
        await database_sync_to_async(pin_for_test)(course, message)
    if kind == "answer":
        reply, _ = await database_sync_to_async(message_create)(
            author=course.owner, course=course, text="An answer"
        )
        body = {"answer_id": reply.pk}
    communicator, connected, _ = await open_socket(room_path(course.pk), user=users[role])
    try:
        assert connected
        frame = {"type": kind, "id": message.pk, **body}
        await communicator.send_to(text_data=json.dumps(frame))
        while (answer := await communicator.receive_json_from(timeout=3))["type"] in (
            "presence",
            "presence.join",
        ):
            pass
        assert answer.get("code", answer["type"]) == expected
    finally:
        await communicator.disconnect()


def pin_for_test(course, message):
    message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=True)
