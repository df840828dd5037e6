"""The chat room in Chromium: people in separate browser contexts on a live Daphne.

The three-person flow runs with the production channel layer (a real redis-server); the
others on Daphne without Redis, as `make run` serves it.
"""

import re
import threading
from datetime import timedelta

import pytest
import redis
from django.contrib.staticfiles import finders
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from chat.models import Message, Mute, Room
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


def shown_time(page, iso: str) -> str:
    """A moment as static/js/chat.js shows every time: the page's language, the browser's zone."""
    return page.evaluate(
        "iso => new Intl.DateTimeFormat(document.documentElement.lang,"
        " {dateStyle: 'medium', timeStyle: 'short'}).format(new Date(iso))",
        iso,
    )


def test_a_refused_message_names_the_end_of_the_mute_as_the_notice_does(room, browsers):
    course, _, (student, _) = room
    server, session = browsers
    learner = open_room(session, server, student, course)
    # A mute this page never heard of (made without its event): only the refusal tells it.
    until = timezone.now() + timedelta(minutes=30)
    room_row, _ = Room.objects.get_or_create(course=course)
    Mute.objects.create(room=room_row, user=student, until=until)

    say(learner, "let me speak")

    notice = f"You are muted until {shown_time(learner, until.isoformat())}."
    expect(learner.locator("#chat-error")).to_have_text(notice)
    expect(learner.locator("#chat-input")).to_be_disabled()
    learner.reload()
    expect(learner.locator("#chat-input")).to_have_attribute("placeholder", notice)


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
    shown = shown_time(learner, Mute.objects.get(user=student).until.isoformat())
    expect(learner.locator("#chat-error")).to_have_text(f"You are muted until {shown}.")
    expect(instructor.locator("#chat-error")).to_have_text(
        f"{student.username} is muted until {shown}."
    )
    session.screenshot(learner, "muted-student")

    instructor.get_by_role("button", name=f"Unmute {student.username}").click()
    expect(learner.locator("#chat-input")).to_be_enabled()
    say(learner, "thank you")
    expect(texts(instructor)).to_have_text(["thank you"])


def test_a_reply_with_a_link_and_bold_shows_formatted_and_quoted_for_the_other(room, browsers):
    course, owner, (student, _) = room
    server, session = browsers
    message_create(author=owner, course=course, text="Where is the **reading list**?")
    learner = open_room(session, server, student, course)
    instructor = open_room(session, server, owner, course)

    # The student answers the instructor's question.
    question = messages(learner).first
    expect(question.locator(".chat-badge")).to_have_text("Instructor")
    question.get_by_role("button", name=f"Reply to {owner.username}").click()
    expect(learner.locator("#chat-replying")).to_contain_text("Where is the reading list?")
    say(learner, "It is **here**: https://example.org/reading")
    expect(learner.locator("#chat-replying")).to_be_hidden()

    answer = delivered(instructor).last
    expect(answer.locator(".chat-text strong")).to_have_text("here")
    link = answer.locator(".chat-text a")
    expect(link).to_have_attribute("href", "https://example.org/reading")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener nofollow ugc")
    quote = answer.locator(".chat-quote")
    expect(quote).to_contain_text(owner.username)
    expect(quote).to_contain_text("Where is the reading list?")
    expect(answer.locator("time")).to_have_attribute("title", re.compile(r"\d"))
    session.screenshot(instructor, "a-formatted-reply")

    quote.click()
    expect(messages(instructor).first).to_have_class(re.compile(r"\bhighlighted\b"))
    stored = Message.objects.get(text__startswith="It is")
    assert stored.reply_to.text == "Where is the **reading list**?"


def test_a_quote_of_a_message_not_loaded_yet_loads_history_up_to_it(room, browsers):
    course, owner, (student, _) = room
    server, session = browsers
    original, _ = message_create(author=owner, course=course, text="the very first")
    for index in range(160):
        message_create(author=owner, course=course, text=f"filler {index}")
    message_create(author=student, course=course, text="about that", reply_to=original.pk)
    page = open_room(session, server, owner, course)
    expect(messages(page)).to_have_count(50)

    delivered(page).last.locator(".chat-quote").click()

    first = page.locator(f'#chat-messages li.chat-message[data-id="{original.pk}"]')
    expect(first).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(first).to_be_in_viewport()
    expect(messages(page)).to_have_count(162)


def test_days_are_separated_and_an_authors_run_of_messages_is_grouped(room, browsers):
    course, owner, (student, _) = room
    server, session = browsers
    for text in ("first yesterday", "second yesterday"):
        message_create(author=student, course=course, text=text)
    Message.objects.filter(room_id=course.pk).update(created=timezone.now() - timedelta(days=1))
    message_create(author=student, course=course, text="today")
    message_create(author=student, course=course, text="today again")
    page = open_room(session, server, owner, course)

    expect(page.locator("#chat-messages li.chat-day")).to_have_text(["Yesterday", "Today"])
    # Each day's first message carries its author's name; the rest of the run does not.
    expect(messages(page).locator(".chat-author:visible")).to_have_count(2)
    expect(messages(page).nth(1)).to_have_class(re.compile(r"\bcontinued\b"))
    time = messages(page).nth(2).locator("time")
    expect(time).to_have_text(re.compile(r"just now|minute"))
    expect(time).to_have_attribute("title", re.compile(r"\d"))
    session.screenshot(page, "days-and-groups")


def test_an_edit_a_reaction_and_a_pin_are_seen_by_the_other(room, browsers):
    course, owner, (ann, _) = room
    server, session = browsers
    student = open_room(session, server, ann, course)
    instructor = open_room(session, server, owner, course)
    say(student, "helo everyone")
    expect(texts(instructor)).to_have_text(["helo everyone"])

    # Ann edits her message with the keyboard: Edit, the new text, Enter.
    own = delivered(student).first
    own.get_by_role("button", name="Edit").click()
    editor = own.get_by_role("textbox", name="Edit your message")
    expect(editor).to_be_focused()
    editor.fill("hello everyone")
    editor.press("Enter")
    for page in (student, instructor):
        expect(texts(page)).to_have_text(["hello everyone"])
        expect(delivered(page).first.locator(".chat-edited")).to_have_text("(edited)")

    # The instructor reacts; Ann sees the count and who reacted.
    theirs = delivered(instructor).first
    theirs.get_by_role("button", name="React").click()
    theirs.get_by_role("group", name="Add a reaction").get_by_role("button", name="🎉").click()
    reaction = delivered(student).first.locator(".chat-reaction")
    expect(reaction).to_have_text("🎉 1")
    expect(reaction).to_have_attribute("title", owner.username)

    # The instructor pins it: it shows in the pinned bar at the top of both pages.
    theirs.get_by_role("button", name="Pin").click()
    for page in (student, instructor):
        expect(page.locator("#chat-pins")).to_be_visible()
        expect(page.locator("#chat-pins-list li")).to_contain_text("hello everyone")
    session.screenshot(student, "edited-reacted-pinned")

    # A reload renders the same state from the server.
    student.reload()
    expect(student.locator("#chat-state")).to_have_attribute("data-state", "connected")
    expect(delivered(student).first.locator(".chat-reaction")).to_have_text("🎉 1")
    expect(student.locator("#chat-pins-list li")).to_contain_text("hello everyone")
