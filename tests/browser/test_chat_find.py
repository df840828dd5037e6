"""Mentions and search in the chat room, in Chromium on a live Daphne."""

import pytest
from playwright.sync_api import expect

from chat.services import message_create
from tests.browser import test_chat_flow
from tests.browser.test_chat_flow import delivered, open_room
from tests.browser_support import requires_chromium
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]


# The chat flow's Chromium on a live Daphne without Redis.
start_browsers = test_chat_flow.start_browsers


@pytest.fixture
def browsers(start_browsers):  # noqa: F811 - the fixture above, by name
    return start_browsers()


@pytest.fixture
def room(db):
    course = CourseFactory(owner=UserFactory(username="teacher"))
    alice = EnrollmentFactory(course=course, student=UserFactory(username="alice")).student
    EnrollmentFactory(course=course, student=UserFactory(username="albert"))
    return course, alice


def test_the_keyboard_completes_a_mention_from_the_members(room, browsers):
    course, alice = room
    server, session = browsers
    page = open_room(session, server, course.owner, course)
    box = page.locator("#chat-input")

    box.press_sequentially("hi @al")
    options = page.get_by_role("option")
    expect(options).to_have_text(["@albert", "@alice"])
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(page.get_by_role("option", name="@alice")).to_have_attribute("aria-selected", "true")
    box.press("Enter")

    expect(box).to_have_value("hi @alice ")
    expect(page.locator("#chat-mention-list")).to_be_hidden()
    box.press("Enter")
    expect(delivered(page).last).to_contain_text("hi @alice")


def test_escape_closes_the_completion_without_changing_the_text(room, browsers):
    course, alice = room
    server, session = browsers
    page = open_room(session, server, alice, course)
    box = page.locator("#chat-input")

    box.press_sequentially("@inst")
    expect(page.get_by_role("option")).to_have_text(["@instructor"])
    box.press("Escape")

    expect(page.locator("#chat-mention-list")).to_be_hidden()
    expect(box).to_have_value("@inst")


def test_a_search_result_shows_the_message_in_its_context(room, browsers):
    course, alice = room
    server, session = browsers
    message_create(author=alice, course=course, text="where is the <b>prism</b> lab?")
    for index in range(60):
        message_create(author=course.owner, course=course, text=f"filler {index}")
    page = open_room(session, server, alice, course)

    page.get_by_role("searchbox").fill("prism")
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(".chat-found-result")
    expect(result).to_have_count(1)
    expect(result.locator("mark")).to_have_text("prism")
    expect(result.locator("b")).to_have_count(0)
    result.click()

    found = page.locator("#chat-found-list .chat-found-here")
    expect(found).to_contain_text("where is the <b>prism</b> lab?")
    expect(found).to_be_focused()


def test_a_notification_link_shows_the_message_it_names(room, browsers):
    course, alice = room
    server, session = browsers
    for index in range(3):
        message_create(author=course.owner, course=course, text=f"@alice number {index + 1}")
    page = open_room(session, server, alice, course)

    page.goto(f"/chat/room/{course.pk}/#seq-2")

    expect(page.locator("#chat-messages .chat-found-here")).to_contain_text("@alice number 2")
