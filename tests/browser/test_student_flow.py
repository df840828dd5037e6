"""A student in Chromium: registers (confirming by e-mail), finds a course, studies it, leaves."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from students.models import Enrollment
from tests.browser_support import requires_chromium
from tests.factories import ContentFactory, CourseFactory, ModuleFactory, SubjectFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def catalogue():
    """Two published courses in two subjects; the first has two modules of two texts each."""
    physics = SubjectFactory(title="Physics", slug="physics")
    music = SubjectFactory(title="Music", slug="music")
    optics = CourseFactory(subject=physics, title="Waves and optics", slug="waves-and-optics")
    for module_title in ("Reflection", "Refraction"):
        module = ModuleFactory(course=optics, title=module_title)
        for n in (1, 2):
            ContentFactory(module=module, item__title=f"{module_title} {n}")
    CourseFactory(subject=music, title="Harmony basics", slug="harmony-basics")
    return optics


def course_titles(page) -> list[str]:
    return page.locator("article.course h2").all_inner_texts()


def progress(page) -> str:
    return page.locator("progress").first.get_attribute("value")


def test_a_student_registers_studies_resumes_and_leaves(catalogue, browser_session):
    page = browser_session.new_page()
    shot = browser_session.screenshot

    # Register.
    page.goto("/")
    page.get_by_role("link", name="Register").click()
    page.locator("#id_username").fill("marie")
    page.locator("#id_email").fill("marie@example.com")
    page.locator("#id_password1").fill("radium-and-polonium")
    page.locator("#id_password2").fill("radium-and-polonium")
    shot(page, "registration")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/students/register/done/")
    expect(page.locator("h1")).to_have_text("Check your inbox")
    shot(page, "check-your-inbox")

    # Confirm the address with the e-mailed link, which logs her in.
    [message] = mail.outbox
    assert message.to == ["marie@example.com"]
    link = re.search(r"https?://\S+", message.body).group()
    assert link.startswith(browser_session.base_url + "/accounts/activate/")
    page.goto(link)
    shot(page, "confirm-account")
    page.get_by_role("button", name="Open my account").click()
    page.wait_for_url("**/students/courses/")
    expect(page.locator(".messages")).to_contain_text("Welcome, marie!")
    student = User.objects.get(username="marie", is_active=True)

    # Find the course by subject, then by search.
    page.locator("#header").get_by_role("link", name="Catalogue").click()
    page.locator(".subjects").get_by_role("link", name="Physics").click()
    page.wait_for_url("**/course/subject/physics/")
    assert course_titles(page) == ["Waves and optics"]
    shot(page, "by-subject")
    page.locator(".subjects").get_by_role("link", name="All").click()
    assert sorted(course_titles(page)) == ["Harmony basics", "Waves and optics"]
    page.locator("#course-search").fill("optics")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/?q=optics")
    assert course_titles(page) == ["Waves and optics"]
    shot(page, "by-search")

    # Enroll.
    page.get_by_role("link", name="Waves and optics").click()
    page.get_by_role("button", name="Enroll now").click()
    page.wait_for_url(f"**{reverse('student_course_detail', args=[catalogue.pk])}")
    assert Enrollment.objects.filter(student=student, course=catalogue).exists()
    assert progress(page) == "0"
    shot(page, "enrolled")

    # Study the first module: the progress bar moves with each content done.
    page.get_by_role("button", name="Mark as done").first.click()
    expect(page.locator("progress").first).to_have_attribute("value", "25")
    page.get_by_role("button", name="Mark as done").first.click()
    expect(page.locator("progress").first).to_have_attribute("value", "50")
    expect(page.get_by_role("button", name="Mark as done")).to_have_count(0)
    shot(page, "module-done")

    # Go on to the second module, leave, and resume there.
    page.get_by_role("link", name="Refraction →").click()
    expect(page.locator("[aria-current=page]")).to_have_text("Refraction")
    page.locator("#header").get_by_role("link", name="Catalogue").click()
    page.locator("#header").get_by_role("link", name="My courses").click()
    resume = page.get_by_role("link", name="Resume: Refraction")
    expect(resume).to_be_visible()
    shot(page, "my-courses")
    resume.click()
    expect(page.locator("[aria-current=page]")).to_have_text("Refraction")
    assert progress(page) == "50"
    shot(page, "resumed")

    # Unenroll, asked first in a dialog that opens on its harmless choice.
    page.get_by_role("button", name="Leave this course").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Leave “Waves and optics”?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    shot(page, "leave-asked-first")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Leave this course")).to_be_focused()
    assert Enrollment.objects.filter(student=student).exists()
    page.get_by_role("button", name="Leave this course").click()
    dialog.get_by_role("button", name="Leave the course").click()
    page.wait_for_url("**/students/courses/")
    expect(page.locator(".messages")).to_contain_text("You have left Waves and optics.")
    expect(page.locator(".empty")).to_contain_text("not enrolled in any course")
    shot(page, "left")
    assert not Enrollment.objects.filter(student=student).exists()
