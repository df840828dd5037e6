"""How a lesson reads in Chromium: its Markdown headings and code blocks."""

import pytest
from django.urls import reverse

from tests.browser_support import log_in, requires_chromium
from tests.factories import ContentFactory, CourseFactory, EnrollmentFactory, ModuleFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LESSON = "# A heading\n\nSome text.\n\n```\nfor token in tokens:\n    print(token)\n```\n"


def style(page, selector: str, property_name: str) -> str:
    return page.locator(selector).first.evaluate(
        "(element, name) => getComputedStyle(element).getPropertyValue(name)", property_name
    )


def test_a_lesson_heading_is_smaller_than_its_title_and_code_is_styled(browser_session):
    course = CourseFactory(title="Compilers")
    module = ModuleFactory(course=course, title="Lexing")
    ContentFactory(module=module, item__title="Tokens", item__content=LESSON)
    student = EnrollmentFactory(course=course).student
    page = browser_session.new_page()
    log_in(page, student, browser_session.base_url)

    page.goto(reverse("student_course_detail_module", args=[course.pk, module.pk]))
    browser_session.screenshot(page, "lesson-with-heading-and-code")

    title = float(style(page, "article.card h3", "font-size").removesuffix("px"))
    heading = float(style(page, ".content-text h4", "font-size").removesuffix("px"))
    assert heading < title
    assert style(page, ".content-text pre", "background-color") not in ("rgba(0, 0, 0, 0)", "")
    assert "mono" in style(page, ".content-text pre code", "font-family").lower()
