"""Reordering in a real browser: the CMS script, its CSRF token and both ways of moving."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from courses.models import Content, Text
from tests.browser_support import log_in, requires_chromium
from tests.factories import ContentFactory, InstructorFactory, ModuleFactory

pytestmark = [
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


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

    expect(page.locator("#order-status")).to_contain_text("saved")
    assert content_titles(module) == ["b", "a", "c"]


def test_dragging_a_content_saves_the_new_order(module_page):
    page, module = module_page

    item(page, "c").drag_to(item(page, "a"), target_position={"x": 10, "y": 2})

    expect(page.locator("#order-status")).to_contain_text("saved")
    assert content_titles(module) == ["c", "a", "b"]
