"""Hostile input and the CSP in real Chromium: no payload runs, no page of ours breaks the policy.

The `browser_session` fixture fails a test on any CSP violation, script error or write to
window.__xss (what every payload does if it runs).
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser_support import log_in, requires_chromium

from .conftest import payload
from .routes import project_routes

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def visit(session, page, path, step):
    response = page.goto(path)
    assert response.status == 200, path
    page.wait_for_load_state("load")
    session.screenshot(page, step)


def test_no_payload_runs_on_the_pages_students_see(hostile_world, browser_session, live_server):
    world = hostile_world
    page = browser_session.new_page()
    visit(browser_session, page, "/", "catalogue")
    visit(browser_session, page, "/?q=" + payload("search"), "search")
    visit(browser_session, page, reverse("course_list_subject", args=["hostile"]), "subject")
    visit(browser_session, page, world.course.get_absolute_url(), "course-detail")
    log_in(page, world.student, live_server.url)
    visit(browser_session, page, reverse("student_course_list"), "my-courses")
    study = reverse("student_course_detail_module", args=[world.course.pk, world.module.pk])
    visit(browser_session, page, study, "study-view")
    expect(page.locator(".content-text h4")).to_have_text("A harmless heading")
    visit(browser_session, page, reverse("profile"), "profile")
    page.locator("#header").get_by_role("link", name="student").click()


def test_no_payload_runs_on_the_instructors_pages(hostile_world, browser_session, live_server):
    world = hostile_world
    page = browser_session.new_page()
    log_in(page, world.owner, live_server.url)
    visit(browser_session, page, reverse("instructor_home"), "cms-courses")
    visit(browser_session, page, reverse("course_edit", args=[world.course.pk]), "course-form")
    visit(browser_session, page, reverse("course_module_update", args=[world.course.pk]), "modules")
    visit(browser_session, page, reverse("module_content_list", args=[world.module.pk]), "contents")
    # The ordering script runs under the policy and saves.
    page.locator("ol.contents li[data-id]").first.locator(".move-down").click()
    expect(page.locator("#order-status")).to_contain_text("saved")
    edit = reverse("module_content_update", args=[world.module.pk, "text", world.text.pk])
    visit(browser_session, page, edit, "text-form")
    visit(browser_session, page, reverse("course_grades", args=[world.course.pk]), "students")


def test_the_admin_works_under_the_policy(hostile_world, browser_session, live_server):
    world = hostile_world
    page = browser_session.new_page()
    log_in(page, world.owner, live_server.url)
    visit(browser_session, page, reverse("admin:index"), "admin-index")
    visit(browser_session, page, reverse("admin:courses_course_changelist"), "admin-courses")
    page.get_by_role("link", name="Published").first.click()  # a list filter
    change = reverse("admin:courses_course_change", args=[world.course.pk])
    visit(browser_session, page, change, "admin-course")
    # Inline formsets: "Add another" is built by the admin's scripts.
    page.locator(".add-row a").click()
    expect(page.locator(".dynamic-modules")).to_have_count(2)
    visit(browser_session, page, reverse("admin:courses_course_add"), "admin-course-add")
    # Prepopulated fields: the slug follows the title.
    page.locator("#id_title").press_sequentially("Fresh course")
    expect(page.locator("#id_slug")).to_have_value("fresh-course")
    user = reverse("admin:auth_user_change", args=[world.student.pk])
    visit(browser_session, page, user, "admin-user")
    # The two-list permission picker and the date shortcuts are scripts too.
    expect(page.locator("#id_user_permissions_filter")).to_be_visible()
    shortcuts = page.locator(".datetimeshortcuts")
    shortcuts.nth(0).get_by_role("link", name="Today").click()
    shortcuts.nth(1).get_by_role("link", name="Now").click()
    page.locator("#id_username").fill("renamed")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    browser_session.screenshot(page, "admin-user-saved")


def test_the_api_docs_page_works_under_the_policy(hostile_world, browser_session, live_server):
    docs = [
        route
        for route in project_routes()
        if getattr(route.callback, "view_class", type).__name__.startswith(
            ("SpectacularSwagger", "SpectacularRedoc")
        )
    ]
    if not docs:
        pytest.skip("the API has no documentation page yet")
    page = browser_session.new_page()
    log_in(page, hostile_world.owner, live_server.url)
    for route in docs:
        response = page.goto("/" + route.template)
        assert response.status == 200
        # Swagger UI builds the page from the schema with its scripts.
        expect(page.locator(".swagger-ui .info .title")).to_be_visible()
        expect(page.locator(".opblock").first).to_be_visible()
        browser_session.screenshot(page, route.name or "api-docs")


# --- the watch itself -------------------------------------------------------------------------


def test_the_watch_reports_an_inline_script_the_policy_blocks(browser_session, live_server):
    page = browser_session.new_page()
    page.route(
        f"{live_server.url}/probe/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'self'"},
            body="<script>window.__xss = 'inline';</script>",
        ),
    )

    page.goto("/probe/")

    assert any(problem.startswith("csp: script-src") for problem in browser_session.problems)
    browser_session.problems.clear()


def test_the_watch_reports_a_script_that_ran(browser_session):
    page = browser_session.new_page()
    page.goto("/accounts/login/")

    page.evaluate("window.__xss = 'ran'")

    assert [p.split(" (on")[0] for p in browser_session.problems] == ["xss: ran"]
    browser_session.problems.clear()
