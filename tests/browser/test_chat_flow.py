"""The chat room in Chromium: people in separate browser contexts on a live Daphne.

The three-person flow runs with the production channel layer (a real redis-server); the
others on Daphne without Redis, as `make run` serves it.
"""

import threading

import pytest
import redis
from django.contrib.staticfiles import finders
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from chat.models import Message, Mute
from chat.services import message_create
from tests.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserSession,
    log_in,
    requires_chromium,
    screenshot_dir_for,
)
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]

XSS = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'
# The page reconnects with backoff, 1 s doubling: a few failed tries take seconds.
RECONNECT_TIMEOUT = 20_000


@pytest.fixture
def room(db):
    """A published course with its owner and two enrolled students."""
    # A plain owner: transactional tests flush the Instructors group made by a data migration.
    course = CourseFactory(owner=UserFactory())
    students = [EnrollmentFactory(course=course).student for _ in range(2)]
    return course, course.owner, students


def serve_static(route):
    # Daphne under the test settings (DEBUG off) serves no /static/; Nginx does in production.
    path = finders.find(route.request.url.split("/static/", 1)[1].split("?")[0])
    if path is None:
        route.fulfill(status=404)
    else:
        route.fulfill(path=path)


@pytest.fixture
def start_browsers(request, live_asgi_server, monkeypatch):
    """Factory: (server, session), Chromium pages against one Daphne started with `env`."""
    # Sync Playwright runs an event loop in this thread; the test's ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sessions = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def start(**env):
            server = live_asgi_server("daphne", CHAT_RECONCILE_INTERVAL="0.5", **env)
            session = BrowserSession(browser, server.url, screenshot_dir_for(request.node.nodeid))
            sessions.append(session)
            return server, session

        try:
            yield start
        finally:
            browser.close()
            # With Playwright's loop running, the test's ORM calls opened a connection of their
            # own; left open, it would keep the test database from being dropped.
            connections.close_all()
    for session in sessions:
        assert session.problems == [], "\n".join(session.problems)


@pytest.fixture
def browsers(start_browsers):
    return start_browsers()


@pytest.fixture
def redis_browsers(start_browsers, redis_server):
    # Presence and rate counters of earlier tests must not leak into this room.
    redis.Redis.from_url(redis_server.url).flushdb()
    return start_browsers(REDIS_URL=redis_server.url)


class SocketCut:
    """Routes a page's chat socket through Playwright, so the test can cut it and restore it.

    While cut, the open socket is closed on both sides and new ones are refused at once, as
    when a network drops; Chromium's offline mode would leave an open socket untouched.
    """

    def __init__(self, page):
        self.cut = threading.Event()
        self.routes = []
        page.route_web_socket("**/ws/chat/**", self._handle)

    def _handle(self, ws):
        if self.cut.is_set():
            ws.close(code=4000, reason="cut by the test")
            return
        server = ws.connect_to_server()
        self.routes.append((ws, server))

    def start(self):
        self.cut.set()
        for ws, server in self.routes:
            server.close(code=4000, reason="cut by the test")
            ws.close(code=4000, reason="cut by the test")
        self.routes.clear()

    def end(self):
        self.cut.clear()


def open_room(session, server, user, course, *, cut=False):
    page = session.new_page()
    page.context.route("**/static/**", serve_static)
    socket_cut = SocketCut(page) if cut else None
    log_in(page, user, server.url)
    page.goto(f"/chat/room/{course.pk}/")
    expect(page.locator("#chat-state")).to_have_attribute("data-state", "connected")
    return (page, socket_cut) if cut else page


def messages(page):
    return page.locator("#chat-messages li.chat-message")


def delivered(page):
    return page.locator("#chat-messages li.chat-message:not(.pending)")


def texts(page):
    return delivered(page).locator(".chat-text")


def say(page, text):
    page.locator("#chat-input").fill(text)
    page.get_by_role("button", name="Send").click()


def online(page):
    return page.locator("#chat-online li span")


def test_three_people_chat_live_through_a_dropped_socket(room, redis_browsers):
    course, owner, (ann, ben) = room
    server, session = redis_browsers
    first, cut = open_room(session, server, ann, course, cut=True)
    second = open_room(session, server, ben, course)
    instructor = open_room(session, server, owner, course)
    everyone = [first, second, instructor]
    names = sorted([ann.username, ben.username, owner.username])
    for page in everyone:
        expect(online(page)).to_have_text(names)

    first.locator("#chat-input").press_sequentially("hel")
    expect(second.locator("#chat-typing")).to_contain_text(f"{ann.username} is typing")
    expect(instructor.locator("#chat-typing")).to_contain_text(f"{ann.username} is typing")
    first.locator("#chat-input").fill("")

    say(first, "hello from ann")
    say(second, XSS)
    say(instructor, "welcome both")
    expected = ["hello from ann", XSS, "welcome both"]
    for page in everyone:
        expect(texts(page)).to_have_text(expected)
        # The payload is text: no element of it reached the page.
        expect(page.locator("#chat-messages img, #chat-messages script")).to_have_count(0)
    session.screenshot(second, "three-people-talking")

    # The instructor deletes Ben's message: it becomes a tombstone everywhere.
    messages(instructor).nth(1).get_by_role("button", name="Delete").click()
    instructor.get_by_role("dialog").get_by_role("button", name="Delete").click()
    for page in everyone:
        expect(messages(page).nth(1)).to_contain_text("message deleted")
        expect(messages(page).nth(1)).not_to_contain_text("onerror")
    session.screenshot(instructor, "instructor-deleted-a-message")

    # Ann's network drops while the others talk; she types a message meanwhile.
    cut.start()
    expect(first.locator("#chat-state")).to_have_attribute("data-state", "reconnecting")
    for page in (second, instructor):
        expect(online(page)).to_have_text(sorted([ben.username, owner.username]))
    say(second, "missed one")
    say(instructor, "missed two")
    say(second, "missed three")
    say(first, "sent while cut off")
    expect(first.locator("#chat-messages li.pending")).to_have_count(1)
    expect(texts(instructor)).to_have_count(6)
    session.screenshot(first, "ann-cut-off")

    cut.end()
    expect(first.locator("#chat-state")).to_have_attribute(
        "data-state", "connected", timeout=RECONNECT_TIMEOUT
    )
    after_cut = ["missed one", "missed two", "missed three", "sent while cut off"]
    for page in everyone:
        expect(texts(page)).to_have_count(7)
        expect(texts(page).nth(1)).to_have_text("message deleted")
        assert texts(page).all_inner_texts()[3:] == after_cut
        expect(online(page)).to_have_text(names)
    expect(first.locator("#chat-messages li.pending")).to_have_count(0)
    session.screenshot(first, "ann-back-with-every-message")

    stored = list(Message.objects.filter(room__course=course).order_by("seq"))
    assert [message.text for message in stored[3:]] == after_cut
    assert len(stored) == 7
    assert first.evaluate("window.__xss") is None


def test_messages_typed_while_disconnected_are_sent_once_after_reconnecting(room, browsers):
    course, owner, students = room
    server, session = browsers
    student = open_room(session, server, students[0], course)
    say(student, "before the outage")
    expect(delivered(student)).to_have_count(1)

    server.kill()
    expect(student.locator("#chat-state")).to_have_attribute("data-state", "reconnecting")
    say(student, "typed while offline")
    expect(student.locator("#chat-messages li.pending")).to_have_count(1)
    server.start()

    expect(student.locator("#chat-state")).to_have_attribute(
        "data-state", "connected", timeout=RECONNECT_TIMEOUT
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


def test_the_instructor_mutes_through_a_dialog_and_unmutes(room, browsers):
    course, owner, (student, _) = room
    server, session = browsers
    learner = open_room(session, server, student, course)
    instructor = open_room(session, server, owner, course)
    expect(online(instructor)).to_have_text(sorted([student.username, owner.username]))

    instructor.get_by_role("button", name=f"Mute {student.username}").click()
    dialog = instructor.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Mute {student.username}")
    expect(dialog.get_by_label("For how long?")).to_be_focused()
    dialog.get_by_label("For how long?").select_option("30")
    session.screenshot(instructor, "mute-dialog")
    dialog.get_by_role("button", name="Mute").click()

    expect(learner.locator("#chat-input")).to_be_disabled()
    expect(learner.get_by_role("button", name="Send")).to_be_disabled()
    until = Mute.objects.get(user=student).until.isoformat()
    # As static/js/chat.js shows every time: the page's language, the browser's time zone.
    shown = learner.evaluate(
        "iso => new Intl.DateTimeFormat(document.documentElement.lang,"
        " {dateStyle: 'medium', timeStyle: 'short'}).format(new Date(iso))",
        until,
    )
    expect(learner.locator("#chat-error")).to_have_text(f"You are muted until {shown}.")
    expect(instructor.locator("#chat-error")).to_have_text(
        f"{student.username} is muted until {shown}."
    )
    session.screenshot(learner, "muted-student")

    instructor.get_by_role("button", name=f"Unmute {student.username}").click()
    expect(learner.locator("#chat-input")).to_be_enabled()
    say(learner, "thank you")
    expect(texts(instructor)).to_have_text(["thank you"])
