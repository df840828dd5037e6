"""Reordering in a real browser: the CMS script, its CSRF token and both ways of moving."""

import shutil

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse

from courses.models import Content, Text
from tests.factories import ContentFactory, InstructorFactory, ModuleFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser_page(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Sync Playwright keeps an event loop running in this thread; the ORM calls of the test
    # itself are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        page.on("pageerror", lambda error: errors.append(error))
        yield page
        browser.close()
        # With Playwright's loop running, the ORM calls of the test opened a connection of
        # their own; left open, it would keep the test database from being dropped.
        connections.close_all()
    assert errors == []


def log_in(page, user, base_url):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def content_titles(module) -> list[str]:
    contents = Content.objects.filter(module=module).order_by("order")
    return [Text.objects.get(pk=c.object_id).title for c in contents]


@pytest.fixture
def module_page(browser_page, live_server):
    instructor = InstructorFactory()
    module = ModuleFactory(course__owner=instructor)
    for title in ("a", "b", "c"):
        ContentFactory(module=module, item__title=title)
    log_in(browser_page, instructor, live_server.url)
    browser_page.goto(reverse("module_content_list", args=[module.pk]))
    return browser_page, module


def item(page, title):
    return page.locator("ol.contents li[data-id]", has_text=title)


def test_the_move_down_button_saves_the_new_order(module_page):
    page, module = module_page

    item(page, "a").locator(".move-down").click()

    page.wait_for_function("document.getElementById('order-status').textContent.includes('saved')")
    assert content_titles(module) == ["b", "a", "c"]


def test_dragging_a_content_saves_the_new_order(module_page):
    page, module = module_page

    item(page, "c").drag_to(item(page, "a"), target_position={"x": 10, "y": 2})

    page.wait_for_function("document.getElementById('order-status').textContent.includes('saved')")
    assert content_titles(module) == ["c", "a", "b"]
