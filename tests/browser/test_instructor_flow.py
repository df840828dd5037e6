"""An instructor builds a course in Chromium: from log-in to publishing."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from courses.models import Content, Course
from tests.browser_support import requires_chromium
from tests.courses.uploads import image_bytes
from tests.factories import InstructorFactory, SubjectFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


def add_content(page, kind, **fields):
    page.get_by_role("link", name=kind.capitalize(), exact=True).click()
    for name, value in fields.items():
        if isinstance(value, dict):
            page.locator(f"#id_{name}").set_input_files(value)
        else:
            page.locator(f"#id_{name}").fill(value)
    page.get_by_role("button", name="Save content").click()
    page.wait_for_url("**/course/module/*/")


def wait_saved(page):
    # Locator assertions, not wait_for_function: the page's CSP refuses the eval() it uses.
    expect(page.locator("#order-status")).to_contain_text("saved")
    # Said to everyone, not only to screen readers.
    expect(page.locator("#order-saved")).to_be_visible()
    expect(page.locator("#order-saved")).to_have_text("Saved")
    page.locator("#order-status").evaluate("status => { status.textContent = ''; }")


@pytest.fixture
def instructor():
    SubjectFactory(title="Programming", slug="programming")
    return InstructorFactory(username="grace")


def test_an_instructor_builds_and_publishes_a_course(instructor, browser_session):
    page = browser_session.new_page()
    shot = browser_session.screenshot

    # Log in through the form.
    page.goto(reverse("login"))
    page.locator("#id_username").fill("grace")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/instructor/")
    expect(page.locator(".empty")).to_contain_text("You have not created any courses yet")
    shot(page, "logged-in")

    # Create a course, from the instructor's home where log-in landed.
    page.get_by_role("link", name="Create a course").first.click()
    page.locator("#id_subject").select_option(label="Programming")
    page.locator("#id_title").fill("Compilers from scratch")
    page.locator("#id_overview").fill("Lexing, parsing and code generation.")
    shot(page, "course-form")
    page.get_by_role("button", name="Create course").click()
    page.wait_for_url("**/course/*/module/")
    course = Course.objects.get(owner=instructor)
    assert course.slug == "compilers-from-scratch"

    # Two modules through the formset: one blank form, another added in place.
    expect(page.locator("fieldset.module-form")).to_have_count(1)
    page.locator("#id_modules-0-title").fill("Lexing")
    page.locator("#id_modules-0-description").fill("Characters to tokens.")
    page.get_by_role("button", name="Add another module").click()
    expect(page.locator("#id_modules-1-title")).to_be_focused()
    page.locator("#id_modules-1-title").fill("Parsing")
    page.locator("#id_modules-1-description").fill("Tokens to trees.")
    shot(page, "module-formset")
    page.get_by_role("button", name="Save modules").click()
    page.wait_for_url(f"**{reverse('course_module_update', args=[course.pk])}")
    assert list(course.modules.values_list("title", flat=True)) == ["Lexing", "Parsing"]

    # Four kinds of content in the first module.
    page.get_by_role("link", name="Edit the contents of this module").first.click()
    add_content(page, "text", title="Tokens", content="A **token** is a word of the language.")
    add_content(page, "video", title="A talk", url="https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    add_content(
        page,
        "image",
        title="A syntax tree",
        file={"name": "tree.png", "mimeType": "image/png", "buffer": image_bytes(size=(40, 30))},
    )
    add_content(
        page,
        "file",
        title="Grammar",
        file={"name": "grammar.txt", "mimeType": "text/plain", "buffer": b"expr := term"},
    )
    shot(page, "four-contents")
    lexing = course.modules.get(title="Lexing")
    kinds = [c.kind for c in Content.objects.filter(module=lexing).order_by("order")]
    assert kinds == ["text", "video", "image", "file"]

    # Reorder contents and modules by dragging.
    contents = page.locator("ol.contents li[data-id]")
    contents.filter(has_text="Grammar").drag_to(
        contents.filter(has_text="Tokens"), target_position={"x": 10, "y": 2}
    )
    wait_saved(page)
    kinds = [c.kind for c in Content.objects.filter(module=lexing).order_by("order")]
    assert kinds == ["file", "text", "video", "image"]
    modules = page.locator("aside ol.sortable li[data-id]")
    modules.filter(has_text="Parsing").drag_to(
        modules.filter(has_text="Lexing"), target_position={"x": 10, "y": 2}
    )
    wait_saved(page)
    assert list(course.modules.order_by("order").values_list("title", flat=True)) == [
        "Parsing",
        "Lexing",
    ]
    page.reload()
    shot(page, "reordered")
    assert page.locator("ol.contents li[data-id]").first.inner_text().count("Grammar") == 1

    # The instructor's home, from the top bar, shows the course; publishing there comes back
    # to it with the new state.
    page.locator("#header").get_by_role("link", name="Teaching").click()
    page.wait_for_url("**/instructor/")
    row = page.locator("table.instructor-home tbody tr")
    expect(row).to_contain_text("Compilers from scratch")
    expect(row.locator(".badge")).to_have_text("Draft")
    with page.expect_navigation():
        row.get_by_role("button", name="Publish").click()
    expect(row.locator(".badge")).to_have_text("Published")
    course.refresh_from_db()
    assert course.is_published
    shot(page, "instructor-home")

    # The preview offers the file as a download and shows the image and the player.
    page.goto(reverse("student_course_detail_module", args=[course.pk, lexing.pk]))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download “Grammar”").click()
    assert download.value.suggested_filename == "grammar.txt"
    image = page.locator(".content-image img")
    image.scroll_into_view_if_needed()
    expect(image).to_have_js_property("naturalWidth", 40)
    player = page.locator(".content-video iframe").get_attribute("src")
    assert player.startswith("https://www.youtube-nocookie.com/embed/")
    shot(page, "preview")
