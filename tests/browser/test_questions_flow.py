"""Questions about course content in Chromium: a student asks from the study view, the
instructor answers in the chat room and marks the answer, and the study view shows it."""

import re

import pytest
from playwright.sync_api import expect

from chat.models import Message
from tests.browser.test_chat_flow import (  # noqa: F401 - fixtures
    browsers,
    delivered,
    messages,
    open_room,
    room,
    say,
    serve_static,
    start_browsers,
)
from tests.browser_support import log_in, requires_chromium
from tests.factories import ContentFactory

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]

# The smallest comfortable touch target (static/css/base.css --control-size), in CSS px.
TOUCH_TARGET = 44


def test_a_student_asks_from_the_study_view_and_sees_the_answer_there(room, browsers):  # noqa: F811
    course, owner, (student, _) = room
    server, session = browsers
    content = ContentFactory(module__course=course, item__title="Loops")
    study = f"/students/course/{course.pk}/{content.module_id}/"

    learner = session.new_page()
    learner.context.route("**/static/**", serve_static)
    log_in(learner, student, server.url)
    learner.goto(study)
    ask = learner.get_by_role("link", name="Ask about this")
    box = ask.bounding_box()
    assert box["height"] >= TOUCH_TARGET and box["width"] >= TOUCH_TARGET
    ask.focus()
    learner.keyboard.press("Enter")

    expect(learner).to_have_url(re.compile(rf"/chat/room/{course.pk}/\?about={content.pk}$"))
    expect(learner.locator("#chat-asking")).to_contain_text("Question about: Loops")
    expect(learner.locator("#chat-state")).to_have_attribute("data-state", "connected")
    session.screenshot(learner, "the-question-bar")
    say(learner, "Why does the loop stop?")
    expect(learner.locator("#chat-asking")).to_be_hidden()
    label = delivered(learner).last.locator(".chat-question")
    expect(label).to_have_text("Question about Loops")
    expect(label).to_have_attribute("href", f"{study}#content-{content.pk}")
    question = Message.objects.get(text="Why does the loop stop?")
    assert question.about_id == content.pk

    instructor = open_room(session, server, owner, course)
    asked = messages(instructor).last
    asked.get_by_role("button", name=f"Reply to {student.username}").click()
    say(instructor, "When the list **ends**.")
    reply = delivered(instructor).last
    expect(reply.locator(".chat-text")).to_have_text("When the list ends.")
    reply.get_by_role("button", name="Mark as answer").click()

    expect(delivered(learner).first.locator(".chat-answered")).to_have_text("✓ Answered")
    expect(delivered(learner).last.locator(".chat-answer-badge")).to_have_text("✓ Answer")
    expect(reply.get_by_role("button", name="Not the answer")).to_be_visible()
    session.screenshot(instructor, "the-answer-marked")
    question.refresh_from_db()
    assert question.answer.text == "When the list **ends**."

    learner.goto(study)
    listed = learner.locator(f"#content-{content.pk} .question-list li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Why does the loop stop?")
    expect(listed).to_contain_text("Answered")
    expect(listed.locator(".question-answer strong")).to_have_text("ends")
    session.screenshot(learner, "the-answer-under-the-content")
