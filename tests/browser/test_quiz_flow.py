"""A quiz in Chromium: an instructor builds it, a student fails it, tries again and passes."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from courses.models import Quiz
from students.models import ContentCompletion
from tests.browser_support import log_in, requires_chromium
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    UserFactory,
)

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def module():
    instructor = InstructorFactory(username="grace")
    return ModuleFactory(course=CourseFactory(owner=instructor, title="Optics"), title="Lenses")


def test_an_instructor_builds_a_quiz_a_student_fails_then_passes(
    module, browser_session, live_server
):
    page = browser_session.new_page()
    shot = browser_session.screenshot
    log_in(page, module.course.owner, live_server.url)

    # The instructor adds a quiz with two questions: the second one added in place.
    page.goto(reverse("module_content_list", args=[module.pk]))
    page.get_by_role("link", name="Quiz", exact=True).click()
    page.locator("#id_title").fill("Lens check")
    page.locator("#id_pass_mark").fill("100")
    page.locator("#id_attempts_allowed").fill("3")
    page.locator("#id_answers_shown").select_option("never")
    page.locator("#id_questions-0-kind").select_option("single")
    page.locator("#id_questions-0-text").fill("Which lens converges light?")
    page.locator("#id_questions-0-options").fill("*Convex\nConcave")
    page.get_by_role("button", name="Add a question").click()
    expect(page.locator("#id_questions-1-kind")).to_be_focused()
    page.locator("#id_questions-1-kind").select_option("numeric")
    # Only the fields of a number question show.
    expect(page.locator("#id_questions-1-options")).to_be_hidden()
    expect(page.locator("#id_questions-0-options")).to_be_visible()
    page.locator("#id_questions-1-text").fill("Focal length in cm of a 5-dioptre lens?")
    page.locator("#id_questions-1-numeric_answer").fill("20")
    page.locator("#id_questions-1-tolerance").fill("0.5")
    shot(page, "quiz-form")
    page.get_by_role("button", name="Save quiz").click()
    page.wait_for_url(f"**{reverse('module_content_list', args=[module.pk])}")
    quiz = Quiz.objects.get()
    assert [q.kind for q in quiz.questions.all()] == ["single", "numeric"]

    # A student fails the first attempt...
    student = UserFactory(username="marie")
    EnrollmentFactory(student=student, course=module.course)
    page = browser_session.new_page()
    log_in(page, student, live_server.url)
    page.goto(reverse("student_course_detail_module", args=[module.course_id, module.pk]))
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_label("Concave").check()
    page.get_by_label("Your answer (a number)").fill("5")
    shot(page, "quiz-taken")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".quiz-result")).to_contain_text("Score: 0 of 2 (0 %)")
    expect(page.locator(".quiz-result")).to_contain_text("2 attempts left.")
    assert not ContentCompletion.objects.exists()
    shot(page, "quiz-failed")

    # ...tries again, from the keyboard, and passes.
    page.get_by_role("button", name="Try again").click()
    page.get_by_label("Convex").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Convex")).to_be_checked()
    page.get_by_label("Your answer (a number)").fill("20.2")
    page.get_by_label("Your answer (a number)").press("Enter")
    expect(page.locator(".quiz-result")).to_contain_text("Passed")
    expect(page.locator(".quiz-result")).to_contain_text("Score: 2 of 2 (100 %)")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    shot(page, "quiz-passed")
    assert ContentCompletion.objects.filter(student=student, content__object_id=quiz.pk).exists()
