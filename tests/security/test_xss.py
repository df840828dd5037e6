"""Hostile input: every user-written text is shown inert on every page that shows it."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from chat.services import message_create
from courses.models import Content
from students.models import Certificate
from students.services import content_completion_create

from .conftest import MARKDOWN, payload
from .html_checks import active_content

pytestmark = pytest.mark.django_db

OWNER_NAMES = ["owner-first-name", "owner-last-name"]
STUDENT_NAMES = ["student-first-name", "student-last-name"]
CONTENT_TITLES = ["text-title", "video-title", "image-title", "file-title"]
EVERY_FIELD = [
    *OWNER_NAMES,
    *STUDENT_NAMES,
    *CONTENT_TITLES,
    "subject-title",
    "course-title",
    "course-overview",
    "module-title",
    "module-description",
    "search",
]


def page_as(world, who, name, *args, query=""):
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(world, who))
    # "@course" is the world's course's pk; anything else is used as it is.
    args = [getattr(world, a[1:]).pk if str(a).startswith("@") else a for a in args]
    response = client.get(reverse(name, args=args) + query)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


def assert_inert(html, shown):
    """No payload survives unescaped, nothing in the page can run, and `shown` were rendered."""
    assert active_content(html) == []
    for field in EVERY_FIELD:
        assert payload(field) not in html, field
    for field in shown:
        assert escape(payload(field)) in html, f"{field} is not on the page at all"


# (page, who looks, URL name, URL args by world attribute, fields the page shows in full)
PAGES = [
    ("catalogue", "anonymous", "course_list", [], ["course-title", "subject-title"]),
    ("subject", "anonymous", "course_list_subject", ["hostile"], ["course-title"]),
    # The overview is sanitised Markdown there: its payload is removed, not shown escaped.
    ("course detail", "anonymous", "course_detail", ["hostile-course"], [
        "course-title", "module-title", "module-description", "subject-title",
    ]),
    ("my courses", "student", "student_course_list", [], ["course-title", "module-title"]),
    ("study view", "student", "student_course_detail_module", ["@course", "@module"], [
        "course-title", "module-title", "module-description", *CONTENT_TITLES,
    ]),
    ("profile", "student", "profile", [], STUDENT_NAMES),
    ("instructor home", "owner", "instructor_home", [], ["course-title", "subject-title"]),
    ("CMS course form", "owner", "course_edit", ["@course"], [
        "course-title", "course-overview", "subject-title",
    ]),
    ("CMS course deletion", "owner", "course_delete", ["@course"], ["course-title"]),
    ("CMS modules", "owner", "course_module_update", ["@course"], [
        "course-title", "module-title", "module-description",
    ]),
    ("CMS contents", "owner", "module_content_list", ["@module"], [
        "course-title", "module-title", "module-description", *CONTENT_TITLES,
    ]),
    ("course students", "owner", "course_grades", ["@course"], ["course-title"]),
    ("course analytics", "owner", "course_analytics", ["@course"], [
        "course-title", "module-title",
    ]),
    ("chat room", "student", "chat_room", ["@course"], ["course-title"]),
    ("admin course list", "owner", "admin:courses_course_changelist", [], ["course-title"]),
    ("admin course form", "owner", "admin:courses_course_change", ["@course"], [
        "course-title", "course-overview", "module-title", "module-description",
    ]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("who", "name", "args", "shown"), [page[1:] for page in PAGES], ids=[p[0] for p in PAGES]
)
def test_user_text_is_inert(hostile_world, who, name, args, shown):
    html = page_as(hostile_world, who, name, *args)

    assert_inert(html, shown)


def test_the_owners_name_is_inert_where_students_see_it(hostile_world):
    # get_full_name joins the two payloads with a space.
    full_name = escape(f"{payload('owner-first-name')} {payload('owner-last-name')}")

    for name, args in [("course_list", []), ("course_detail", ["hostile-course"])]:
        html = page_as(hostile_world, "anonymous", name, *args)

        assert_inert(html, [])
        assert full_name in html


def test_the_students_names_are_inert_on_the_course_grades_page(hostile_world):
    html = page_as(hostile_world, "owner", "course_grades", "@course")
    full_name = escape(f"{payload('student-first-name')} {payload('student-last-name')}")

    assert_inert(html, [])
    assert full_name in html or escape(payload("student-first-name")) in html


def test_a_search_query_is_shown_inert(hostile_world):
    html = page_as(hostile_world, "anonymous", "course_list", query="?q=" + payload("search"))

    assert_inert(html, ["search"])


def test_markdown_keeps_its_formatting_and_loses_its_script(hostile_world):
    html = page_as(hostile_world, "student", "student_course_detail_module", "@course", "@module")

    assert "<h4>A harmless heading</h4>" in html
    assert "window.__xss='markdown" not in html
    assert active_content(html) == []


def test_the_markdown_source_is_shown_inert_in_the_content_form(hostile_world):
    world = hostile_world
    html = page_as(world, "owner", "module_content_update", "@module", "text", world.text.pk)

    assert_inert(html, ["text-title"])
    assert escape('<script>window.__xss="markdown-script"</script>') in html


def test_chat_markdown_and_its_quote_keep_formatting_and_lose_their_script(hostile_world):
    world = hostile_world
    original, _ = message_create(
        author=world.owner, course=world.course, text=f"**bold** {MARKDOWN}{payload('chat')}"
    )
    message_create(
        author=world.student, course=world.course, text=payload("reply"), reply_to=original.pk
    )

    html = page_as(world, "student", "chat_room", "@course")

    assert "<strong>bold</strong>" in html
    assert active_content(html) == []
    assert payload("chat") not in html
    assert payload("reply") not in html
    # The quote shows the start of the original's plain text, escaped.
    assert escape('<script>window.__xss="markdown-script"</script>') in html


@pytest.mark.parametrize("username", ['"><script>x</script>', "a'b", "a<b", "a b"])
def test_a_username_cannot_carry_markup(username):
    password = "an-analytical-engine"
    data = {"username": username, "email": "ada@example.com"}

    response = Client().post(
        reverse("student_registration"), {**data, "password1": password, "password2": password}
    )

    assert response.status_code == 400
    assert "username" in response.context["form"].errors


def test_the_names_a_certificate_prints_are_inert_on_its_page(hostile_world):
    student = hostile_world.student
    for content in Content.objects.filter(module__course=hostile_world.course):
        content_completion_create(student=student, content=content)
    certificate = Certificate.objects.get(student=student)

    html = Client().get(certificate.get_absolute_url()).content.decode()

    assert_inert(html, ["course-title"])
    for role in ("student", "owner"):
        full_name = f"{payload(f'{role}-first-name')} {payload(f'{role}-last-name')}"
        assert escape(full_name) in html
