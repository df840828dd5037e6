"""The chat page's reconnect in Chromium: a server restart (close 1012) is followed at once by a
new socket that resumes after the last seq the page has; other closes back off.

The page's clock is Playwright's, advanced by the test, and Math.random returns its largest
value, so the longest jitter is what is measured.
"""

import pytest
from playwright.sync_api import expect

from tests.browser import test_chat_flow as chat_flow
from tests.browser.test_chat_flow import delivered, say, serve_static
from tests.browser_support import log_in, requires_chromium

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]

# static/js/chat.js: RECONNECT_JITTER for 1012 and 1006, RECONNECT_BASE otherwise.
RECONNECT_JITTER_MS = 500
RECONNECT_BASE_MS = 1000
LARGEST_RANDOM = "Math.random = () => 0.999;"

# The chat flow's fixtures: a room with two students, browsers on a live Daphne.
room = chat_flow.room
start_browsers = chat_flow.start_browsers
browsers = chat_flow.browsers


class RoutedSockets:
    """Routes the page's chat sockets through Playwright, recording each one's URL, so that the
    test can close the open one with a code as the server would."""

    def __init__(self, page):
        self.urls = []
        self.routes = []
        page.route_web_socket("**/ws/chat/**", self._handle)

    def _handle(self, ws):
        self.urls.append(ws.url)
        ws.connect_to_server()
        self.routes.append(ws)

    def close_open_one(self, code: int, reason: str):
        self.routes.pop().close(code=code, reason=reason)


def open_room_on_a_clock(session, server, user, course):
    page = session.new_page()
    page.add_init_script(LARGEST_RANDOM)
    page.clock.install()
    page.context.route("**/static/**", serve_static)
    sockets = RoutedSockets(page)
    log_in(page, user, server.url)
    page.goto(f"/chat/room/{course.pk}/")
    expect(page.locator("#chat-state")).to_have_attribute("data-state", "connected")
    # From here on the page's time moves only when the test runs the clock.
    page.clock.pause_at(page.evaluate("Date.now()") + 1)
    return page, sockets


def test_a_server_restart_makes_the_page_reconnect_at_once_and_resume(room, browsers):
    course, _, students = room
    server, session = browsers
    page, sockets = open_room_on_a_clock(session, server, students[0], course)
    say(page, "before the restart")
    expect(delivered(page)).to_have_count(1)

    sockets.close_open_one(1012, "service restart")
    expect(page.locator("#chat-state")).to_have_attribute("data-state", "reconnecting")
    page.clock.run_for(RECONNECT_JITTER_MS)

    expect(page.locator("#chat-state")).to_have_attribute("data-state", "connected")
    # Resumed after the last seq and rev it had: its message, the room's first change.
    assert sockets.urls[-1].endswith("?after=1&rev=1")
    say(page, "after the restart")
    expect(delivered(page)).to_have_count(2)


def test_other_closes_wait_for_the_backoff_before_reconnecting(room, browsers):
    course, _, students = room
    server, session = browsers
    page, sockets = open_room_on_a_clock(session, server, students[0], course)

    sockets.close_open_one(4429, "too many")
    page.clock.run_for(RECONNECT_BASE_MS)
    expect(page.locator("#chat-state")).to_have_attribute("data-state", "reconnecting")
    assert len(sockets.urls) == 1
    page.clock.run_for(RECONNECT_BASE_MS // 2)
    expect(page.locator("#chat-state")).to_have_attribute("data-state", "connected")
    assert len(sockets.urls) == 2
