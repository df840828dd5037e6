"""The room page in Chromium, on Daphne without Redis (as `make run` serves it)."""

import pytest
from django.contrib.staticfiles import finders
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from chat.models import Message
from chat.services import message_create
from tests.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserSession,
    log_in,
    requires_chromium,
    screenshot_dir_for,
)

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]

XSS = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'


def serve_static(route):
    # Daphne under the test settings (DEBUG off) serves no /static/; Nginx does in production.
    path = finders.find(route.request.url.split("/static/", 1)[1].split("?")[0])
    if path is None:
        route.fulfill(status=404)
    else:
        route.fulfill(path=path)


@pytest.fixture
def browsers(request, live_asgi_server, monkeypatch):
    """(server, session): Chromium pages against one Daphne process."""
    # Sync Playwright runs an event loop in this thread; the test's ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    server = live_asgi_server("daphne", CHAT_RECONCILE_INTERVAL="0.5")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        session = BrowserSession(browser, server.url, screenshot_dir_for(request.node.nodeid))
        try:
            yield server, session
        finally:
            browser.close()
            # With Playwright's loop running, the test's ORM calls opened a connection of their
            # own; left open, it would keep the test database from being dropped.
            connections.close_all()
    assert session.problems == [], "\n".join(session.problems)


def open_room(session, server, user, course):
    page = session.new_page()
    page.context.route("**/static/**", serve_static)
    log_in(page, user, server.url)
    page.goto(f"/chat/room/{course.pk}/")
    expect(page.locator("#chat-state")).to_have_attribute("data-state", "connected")
    return page


def messages(page):
    return page.locator("#chat-messages li.chat-message")


def say(page, text):
    page.locator("#chat-input").fill(text)
    page.get_by_role("button", name="Send").click()


def test_two_members_chat_live_and_user_text_stays_text(room, browsers):
    course, owner, students = room
    server, session = browsers
    student = open_room(session, server, students[0], course)
    instructor = open_room(session, server, owner, course)
    expect(student.locator("#chat-online li")).to_have_count(2)

    student.locator("#chat-input").press_sequentially("typing")
    expect(instructor.locator("#chat-typing")).to_contain_text(students[0].username)

    say(student, XSS)
    expect(messages(instructor)).to_have_count(1)
    expect(messages(instructor).first.locator(".chat-text")).to_have_text(XSS)
    expect(instructor.locator("#chat-messages img")).to_have_count(0)

    # The instructor deletes it; both see the tombstone.
    messages(instructor).first.get_by_role("button", name="Delete").click()
    expect(messages(student).first).to_contain_text("message deleted")
    expect(messages(instructor).first).to_contain_text("message deleted")
    session.screenshot(instructor, "instructor-after-delete")


def test_messages_typed_while_disconnected_are_sent_once_after_reconnecting(room, browsers):
    course, owner, students = room
    server, session = browsers
    student = open_room(session, server, students[0], course)
    say(student, "before the outage")
    expect(student.locator("#chat-messages li.chat-message:not(.pending)")).to_have_count(1)

    server.kill()
    expect(student.locator("#chat-state")).to_have_attribute("data-state", "reconnecting")
    say(student, "typed while offline")
    expect(student.locator("#chat-messages li.pending")).to_have_count(1)
    server.start()

    expect(student.locator("#chat-state")).to_have_attribute(
        "data-state", "connected", timeout=20_000
    )
    expect(student.locator("#chat-messages li.pending")).to_have_count(0)
    expect(messages(student)).to_have_count(2)
    assert list(Message.objects.order_by("seq").values_list("text", flat=True)) == [
        "before the outage",
        "typed while offline",
    ]
    instructor = open_room(session, server, owner, course)
    expect(messages(instructor)).to_have_count(2)


def test_scrolling_up_loads_older_messages_and_times_are_local(room, browsers):
    course, owner, _ = room
    server, session = browsers
    for index in range(70):
        message_create(author=owner, course=course, text=f"message {index + 1}")
    page = open_room(session, server, owner, course)
    expect(messages(page)).to_have_count(50)
    expect(messages(page).first.locator("time")).not_to_contain_text("UTC")
    page.locator("#chat-messages").evaluate("element => { element.scrollTop = 0; }")
    expect(messages(page)).to_have_count(70)
    expect(messages(page).first).to_contain_text("message 1")
