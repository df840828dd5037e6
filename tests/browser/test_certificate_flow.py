"""A student in Chromium finishes a course, gets its certificate as a PDF, and a stranger
verifies it from the address the PDF prints."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser_support import log_in, requires_chromium
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
)

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def enrollment():
    """Marie, enrolled in a course of two texts by Ada Lovelace."""
    owner = InstructorFactory(first_name="Ada", last_name="Lovelace")
    course = CourseFactory(owner=owner, title="Analytical engines")
    ContentFactory.create_batch(2, module=ModuleFactory(course=course))
    return EnrollmentFactory(
        course=course,
        student__username="marie",
        student__first_name="Marie",
        student__last_name="Curie",
    )


def test_a_student_finishes_a_course_and_anyone_verifies_the_certificate(
    enrollment, browser_session, tmp_path
):
    page = browser_session.new_page()
    shot = browser_session.screenshot
    log_in(page, enrollment.student, browser_session.base_url)

    # Finish the course.
    page.goto(reverse("student_course_detail", args=[enrollment.course.pk]))
    expect(page.locator(".course-complete")).to_have_count(0)
    page.get_by_role("button", name="Mark as done").first.click()
    page.get_by_role("button", name="Mark as done").first.click()
    expect(page.locator(".course-complete")).to_contain_text("Course complete.")
    shot(page, "course-complete")

    # Open the certificate and download its PDF.
    page.get_by_role("link", name="Your certificate").click()
    page.wait_for_url("**/certificates/*/")
    expect(page.locator(".certificate")).to_contain_text("Marie Curie")
    shot(page, "certificate")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Marie Curie" in text and "Analytical engines" in text
    verification_url = re.search(r"https?://\S+/certificates/[0-9a-f-]+/", text).group()
    assert verification_url == page.url

    # Someone else, not logged in, checks it.
    stranger = browser_session.new_page()
    stranger.goto(verification_url)
    certificate = stranger.locator(".certificate")
    for shown in ("Marie Curie", "Analytical engines", "Ada Lovelace"):
        expect(certificate).to_contain_text(shown)
    expect(stranger.get_by_role("alert")).to_have_count(0)
    shot(stranger, "verified-anonymously")
