"""The whole learning journey in Chromium: an instructor builds a quiz with a question of every
kind, a student fails it, tries again and passes, finishes the course, downloads the certificate
as a PDF, and a stranger verifies it from the address the PDF prints."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from courses.models import Quiz
from students.models import ContentCompletion
from tests.browser_support import log_in, requires_chromium
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
)

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# (kind, text, the fields the instructor fills in besides kind and text).
QUESTIONS = [
    ("single", "Which lens converges light?", {"options": "*Convex\nConcave"}),
    ("multiple", "Which are colours of the rainbow?", {"options": "*Indigo\n*Violet\nMagenta"}),
    ("true_false", "Light travels faster in glass than in air.", {"correct_boolean": "false"}),
    ("numeric", "Focal length in cm of a 5-dioptre lens?", {"numeric_answer": "20"}),
    ("text", "The unit of optical power?", {"accepted_answers": "dioptre\ndiopter"}),
]


@pytest.fixture
def enrollment():
    """Marie Curie, enrolled in Ada Lovelace's course of one module with a text in it."""
    owner = InstructorFactory(username="ada", first_name="Ada", last_name="Lovelace")
    course = CourseFactory(owner=owner, title="Optics")
    ContentFactory(module=ModuleFactory(course=course, title="Lenses"))
    return EnrollmentFactory(
        course=course,
        student__username="marie",
        student__first_name="Marie",
        student__last_name="Curie",
    )


def _build_quiz(page, module, shot) -> None:
    """The instructor adds the quiz in the CMS, each question after the first added in place."""
    page.goto(reverse("module_content_list", args=[module.pk]))
    page.get_by_role("link", name="Quiz", exact=True).click()
    page.locator("#id_title").fill("Lens check")
    page.locator("#id_pass_mark").fill("100")
    page.locator("#id_attempts_allowed").fill("3")
    page.locator("#id_answers_shown").select_option("never")
    for number, (kind, text, fields) in enumerate(QUESTIONS):
        prefix = f"#id_questions-{number}"
        if number:
            page.get_by_role("button", name="Add a question").click()
            expect(page.locator(f"{prefix}-kind")).to_be_focused()
        page.locator(f"{prefix}-kind").select_option(kind)
        page.locator(f"{prefix}-text").fill(text)
        for name, value in fields.items():
            field = page.locator(f"{prefix}-{name}")
            if name == "correct_boolean":
                field.select_option(value)
            else:
                field.fill(value)
        if kind == "numeric":
            # Only the fields of a number question show.
            expect(page.locator(f"{prefix}-options")).to_be_hidden()
            expect(page.locator("#id_questions-0-options")).to_be_visible()
            page.locator(f"{prefix}-tolerance").fill("0.5")
    shot(page, "quiz-form")
    page.get_by_role("button", name="Save quiz").click()
    page.wait_for_url(f"**{reverse('module_content_list', args=[module.pk])}")


def test_a_student_passes_a_quiz_of_every_kind_finishes_the_course_and_anyone_verifies_it(
    enrollment, browser_session, tmp_path
):
    course, student = enrollment.course, enrollment.student
    module = course.modules.get()
    shot = browser_session.screenshot

    page = browser_session.new_page()
    log_in(page, course.owner, browser_session.base_url)
    _build_quiz(page, module, shot)
    quiz = Quiz.objects.get()
    assert [q.kind for q in quiz.questions.all()] == [kind for kind, _, _ in QUESTIONS]

    # The student fails the first attempt: every answer wrong...
    page = browser_session.new_page()
    log_in(page, student, browser_session.base_url)
    page.goto(reverse("student_course_detail_module", args=[course.pk, module.pk]))
    expect(page.locator(".course-complete")).to_have_count(0)
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_label("Concave").check()
    page.get_by_label("Magenta").check()
    page.get_by_label("True", exact=True).check()
    page.get_by_label("Your answer (a number)").fill("5")
    page.get_by_label("Your answer", exact=True).fill("lumen")
    shot(page, "quiz-taken")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".quiz-result")).to_contain_text("Score: 0 of 5 (0 %)")
    expect(page.locator(".quiz-result")).to_contain_text("2 attempts left.")
    assert not ContentCompletion.objects.exists()
    shot(page, "quiz-failed")

    # ...tries again, partly from the keyboard, and passes with every answer right.
    page.get_by_role("button", name="Try again").click()
    page.get_by_label("Convex").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Convex")).to_be_checked()
    page.get_by_label("Indigo").check()
    page.get_by_label("Violet").check()
    page.get_by_label("False", exact=True).check()
    page.get_by_label("Your answer", exact=True).fill("  Diopter ")
    page.get_by_label("Your answer (a number)").fill("20.2")
    page.get_by_label("Your answer (a number)").press("Enter")
    expect(page.locator(".quiz-result")).to_contain_text("Passed")
    expect(page.locator(".quiz-result")).to_contain_text("Score: 5 of 5 (100 %)")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    shot(page, "quiz-passed")
    assert ContentCompletion.objects.filter(student=student, content__object_id=quiz.pk).exists()

    # The quiz passed, the text marked as done: the course is complete.
    expect(page.locator(".course-complete")).to_have_count(0)
    page.get_by_role("button", name="Mark as done").click()
    expect(page.locator(".course-complete")).to_contain_text("Course complete.")
    shot(page, "course-complete")

    # The certificate, and its PDF.
    page.get_by_role("link", name="Your certificate").click()
    page.wait_for_url("**/certificates/*/")
    expect(page.locator(".certificate")).to_contain_text("Marie Curie")
    shot(page, "certificate")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Marie Curie" in text and "Optics" in text
    verification_url = re.search(r"https?://\S+/certificates/[0-9a-f-]+/", text).group()
    assert verification_url == page.url

    # Someone else, not logged in, checks it.
    stranger = browser_session.new_page()
    stranger.goto(verification_url)
    certificate = stranger.locator(".certificate")
    for shown in ("Marie Curie", "Optics", "Ada Lovelace"):
        expect(certificate).to_contain_text(shown)
    expect(stranger.get_by_role("alert")).to_have_count(0)
    shot(stranger, "verified-anonymously")
