"""The footer's language links in Chromium: the site, and its scripts, switch to Spanish."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser_support import log_in, requires_chromium
from tests.factories import ContentFactory, EnrollmentFactory, ModuleFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_footer_link_switches_pages_and_scripts_to_spanish(browser_session, live_server):
    enrollment = EnrollmentFactory()
    ContentFactory(module=ModuleFactory(course=enrollment.course))
    page = browser_session.new_page(locale="en-GB")

    page.goto("/")
    expect(page.locator("h1")).to_have_text("All courses")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Español").click()

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text("Todos los cursos")
    expect(page.get_by_role("navigation", name="Idioma")).to_contain_text("English")
    browser_session.screenshot(page, "catalogue-in-spanish")

    # The choice outlives the page: a logged-in page, and its script's own words, in Spanish.
    log_in(page, enrollment.student, live_server.url)
    page.goto(reverse("student_course_detail", args=[enrollment.course.pk]))
    page.get_by_role("button", name="Abandonar este curso").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Cancelar")).to_be_focused()
    expect(dialog.get_by_role("button", name="Abandonar el curso")).to_be_visible()
    browser_session.screenshot(page, "confirm-in-spanish")
