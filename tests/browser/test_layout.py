"""Every page at desktop and phone widths in Chromium: nothing scrolls sideways, controls are
large enough to touch, axe-core finds no serious or critical violation, and each width leaves a
screenshot (screenshots/layout/*).

PAGES lists each page of the URL map with who sees it; a new route of the URL configuration
that is neither there nor in NOT_PAGES fails `test_every_page_route_has_a_layout_entry`. One
Chromium serves the whole module; each page is loaded once and resized from desktop to phone.
"""

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.tokens import default_token_generator
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect, sync_playwright

from chat.models import Message
from chat.services import (
    message_create,
    message_edit,
    message_pin,
    message_react,
    question_answer,
)
from courses.models import Content, Question, Video
from quizzes.services import attempt_start, attempt_submit
from students.activation import activation_path
from students.email_preferences import mention_emails_off_token
from students.models import Certificate, ContentCompletion, Enrollment
from students.services import content_completion_create
from tests.browser.test_chat_flow import serve_static
from tests.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    BrowserSession,
    log_in,
    requires_chromium,
)
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    QuizContentFactory,
    SubjectFactory,
    UserFactory,
)
from tests.quizzes.conftest import questions_of_every_kind, right_answers
from tests.security.routes import project_routes


def in_chromium(test):
    """Marks a test that opens pages; the coverage tests need neither Chromium nor a database."""
    return requires_chromium(
        pytest.mark.django_db(transaction=True, serialized_rollback=True)(test)
    )


DESKTOP = {"width": 1280, "height": 800}
PHONES = ({"width": 390, "height": 844}, {"width": 360, "height": 740})
MIN_TARGET = 44  # CSS px, both ways
LAYOUT_SHOTS = SCREENSHOTS / "layout"

# Routes that are not pages a person looks at, by name or name prefix, with why.
NOT_PAGES = {
    "admin:": "Django's admin: out of scope for the phone layout",
    "api:": "the REST API: JSON, and its docs page is out of scope",
    None: "unnamed routes: the admin's redirects and the API's catch-all 404",
    "healthz": "a probe for load balancers",
    "readyz": "a probe for load balancers",
    "logout": "POST only, then a redirect",
    "course_publish": "POST only, then a redirect",
    "course_unpublish": "POST only, then a redirect",
    "module_order": "a JSON endpoint of the CMS's reordering",
    "content_order": "a JSON endpoint of the CMS's reordering",
    "module_content_delete": "POST only, then a redirect",
    "content_file": "a course file or image, not a page",
    "chat_attachment": "a file sent in the chat, not a page",
    "chat_attachment_thumbnail": "a chat image's thumbnail, not a page",
    "favicon": "a redirect to the icon, not a page",
    "manage_course_list": "the old address of the instructor home: a permanent redirect there",
    "language_switch": "sets the language, then a redirect back",
    "javascript_catalog": "the translations of static/js, a script",
    "student_enroll_course": "POST only, then a redirect",
    "student_unenroll_course": "POST only, then a redirect",
    "content_mark_done": "POST only, then a redirect",
    "content_mark_undone": "POST only, then a redirect",
    "certificate_pdf": "a PDF file, not a page",
    "certificate_revoke": "POST only, then a redirect",
    "quiz_attempt_start": "POST only, then a redirect",
    "quiz_attempt_submit": "POST only, then a redirect",
}


@dataclass(frozen=True)
class Page:
    route: str  # the URL name
    role: str  # visitor, student, instructor or staff
    url: Callable[[SimpleNamespace], str]
    live_chat: bool = False  # served by Daphne, so that the room's socket connects


def _reset_confirm(world) -> str:
    user = world.users["student"]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


PAGES = [
    # --- visitors
    Page("course_list", "visitor", lambda world: reverse("course_list")),
    Page("course_list_subject", "visitor", lambda world: world.subject.get_absolute_url()),
    Page("course_detail", "visitor", lambda world: world.course.get_absolute_url()),
    Page("login", "visitor", lambda world: reverse("login")),
    Page("student_registration", "visitor", lambda world: reverse("student_registration")),
    Page("student_registration_done", "visitor", lambda w: reverse("student_registration_done")),
    Page("account_activate", "visitor", lambda world: activation_path(user=world.newcomer)),
    Page(
        "mention_emails_off",
        "visitor",
        lambda world: reverse(
            "mention_emails_off", args=[mention_emails_off_token(user=world.users["student"])]
        ),
    ),
    Page("password_reset", "visitor", lambda world: reverse("password_reset")),
    Page("password_reset_done", "visitor", lambda world: reverse("password_reset_done")),
    Page("password_reset_confirm", "visitor", _reset_confirm),
    Page("password_reset_complete", "visitor", lambda world: reverse("password_reset_complete")),
    Page("certificate_detail", "visitor", lambda world: world.certificate.get_absolute_url()),
    # --- students
    Page("student_course_list", "student", lambda world: reverse("student_course_list")),
    Page("student_course_detail", "student", lambda world: f"/students/course/{world.course.pk}/"),
    Page(
        "student_course_detail_module",
        "student",
        lambda world: reverse(
            "student_course_detail_module", args=[world.course.pk, world.lists.pk]
        ),
    ),
    Page("chat_room_list", "student", lambda world: reverse("chat_room_list")),
    Page(
        "chat_room",
        "student",
        lambda world: reverse("chat_room", args=[world.course.pk]),
        live_chat=True,
    ),
    Page("certificate_name", "student", lambda world: reverse("certificate_name")),
    Page("profile", "student", lambda world: reverse("profile")),
    Page("account_delete", "student", lambda world: reverse("account_delete")),
    Page("password_change", "student", lambda world: reverse("password_change")),
    Page("password_change_done", "student", lambda world: reverse("password_change_done")),
    # --- instructors: the CMS
    Page("instructor_home", "instructor", lambda world: reverse("instructor_home")),
    Page("course_create", "instructor", lambda world: reverse("course_create")),
    Page("course_edit", "instructor", lambda world: reverse("course_edit", args=[world.course.pk])),
    Page(
        "course_delete",
        "instructor",
        lambda world: reverse("course_delete", args=[world.course.pk]),
    ),
    Page(
        "course_module_update",
        "instructor",
        lambda world: reverse("course_module_update", args=[world.course.pk]),
    ),
    Page(
        "module_content_list",
        "instructor",
        lambda world: reverse("module_content_list", args=[world.lists.pk]),
    ),
    Page(
        "module_content_create",
        "instructor",
        lambda world: reverse("module_content_create", args=[world.lists.pk, "video"]),
    ),
    Page(
        "module_content_update",
        "instructor",
        lambda world: reverse(
            "module_content_update", args=[world.lists.pk, "text", world.text.item.pk]
        ),
    ),
    Page(
        "module_quiz_create",
        "instructor",
        lambda world: reverse("module_quiz_create", args=[world.lists.pk]),
    ),
    Page(
        "module_quiz_update",
        "instructor",
        lambda world: reverse("module_quiz_update", args=[world.lists.pk, world.quiz.item.pk]),
    ),
    Page(
        "course_grades",
        "instructor",
        lambda world: reverse("course_grades", args=[world.course.pk]),
    ),
    Page(
        "course_analytics",
        "instructor",
        lambda world: reverse("course_analytics", args=[world.course.pk]),
    ),
    # --- staff: the site as staff see it (the admin is out of scope)
    Page("course_list", "staff", lambda world: reverse("course_list")),
]

LESSON = """An unordered list, then a numbered one.

- apples
- pears

1. one
2. two

```python
print("hello, world")
```
"""


# What the quiz of every kind asks, in the words of the course (the screenshots show it).
QUIZ_WORDING = [
    {"text": "Which mirror gives an upright, smaller image?",
     "options": [{"id": 1, "text": "Convex", "correct": True},
                 {"id": 2, "text": "Concave", "correct": False}]},
    {"text": "Which of these reflect light well?",
     "options": [{"id": 1, "text": "Polished silver", "correct": True},
                 {"id": 2, "text": "Still water", "correct": True},
                 {"id": 3, "text": "Black velvet", "correct": False}]},
    {"text": "The angle of reflection equals the angle of incidence."},
    {"text": "A ray meets a mirror 30° from the normal: how many degrees from it does it leave?",
     "numeric_answer": 30, "tolerance": 0},
    {"text": "What is light bouncing off a surface called?", "accepted_answers": ["reflection"]},
]  # fmt: skip


def _not_a_page(name) -> bool:
    if name is None:
        return True
    return name in NOT_PAGES or name.startswith(tuple(k for k in NOT_PAGES if k and k[-1] == ":"))


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """One Chromium for the module."""
    # Once Playwright's loop runs in this thread, asgiref gives the thread other connection
    # objects: they need the serialized data that serialized_rollback restores before each test.
    serialized = {
        alias: getattr(connections[alias], "_test_serialized_contents", None)
        for alias in connections
    }
    # Sync Playwright runs an event loop in this thread; the tests' ORM calls stay synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, contents in serialized.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def session(chromium, live_server):
    """A watched BrowserSession (tests/browser_support.py) on the module's Chromium."""
    assert os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] == "true"
    session = BrowserSession(chromium, live_server.url, LAYOUT_SHOTS)
    yield session
    # With Playwright's loop running, the ORM calls opened a connection of their own; left
    # open, it would keep the test database from being dropped.
    connections.close_all()
    assert session.problems == [], "\n".join(session.problems)


def _answer_quiz(student, quiz, *, right: int) -> None:
    """A graded attempt with the first `right` questions answered right, the others blank."""
    attempt = attempt_start(student=student, content=quiz)
    answers = right_answers(attempt)
    kept = sorted(answers)[:right]
    attempt_submit(attempt=attempt, answers={key: answers[key] for key in kept})


@pytest.fixture
def world(db):
    """A published course with a student, its instructor, staff, chat history and a draft."""
    subject = SubjectFactory(title="Physics", slug="physics")
    instructor = InstructorFactory(username="ada", first_name="Ada", last_name="Lovelace")
    course = CourseFactory(
        owner=instructor,
        subject=subject,
        title="Waves and optics: light, colour and the instruments that see them",
        slug="waves-and-optics",
        overview="How light travels, bends and splits into colours.\n\nNo maths beyond algebra.",
    )
    CourseFactory(owner=instructor, subject=subject, title="Sound", slug="sound")
    lists = ModuleFactory(course=course, title="Reflection", description="Mirrors and angles.")
    ModuleFactory(course=course, title="Refraction", description="Lenses and prisms.")
    text = ContentFactory(module=lists, item__title="Lists", item__content=LESSON)
    video = Video.objects.create(
        owner=instructor, title="A prism", url="https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    )
    Content.objects.create(module=lists, item=video)
    student = EnrollmentFactory(course=course, student=UserFactory(username="marie")).student
    # A quiz with every kind of question, its attempt open: the study page shows its form.
    quiz = QuizContentFactory(
        module=lists, item__title="Check: reflection", item__attempts_allowed=3, item__pass_mark=70
    )
    for question, wording in zip(questions_of_every_kind(quiz.item), QUIZ_WORDING, strict=True):
        Question.objects.filter(pk=question.pk).update(**wording)
    # Three more students, who enrolled over the past weeks and got partway (the analytics),
    # with graded attempts at the quiz (its gradebook column and score charts).
    for weeks_ago, done, tries in ((1, 2, (2, 4)), (3, 1, (3,)), (6, 0, (1,))):
        other = EnrollmentFactory(course=course)
        Enrollment.objects.filter(pk=other.pk).update(
            created=timezone.now() - datetime.timedelta(weeks=weeks_ago)
        )
        for content in lists.contents.all()[:done]:
            ContentCompletion.objects.create(student=other.student, content=content)
        for right in tries:
            _answer_quiz(other.student, quiz, right=right)
    attempt_start(student=student, content=quiz)
    # Grace finished the course, its quiz passed: her certificate is issued.
    graduate = EnrollmentFactory(
        course=course, student=UserFactory(username="grace", first_name="Grace", last_name="Hopper")
    ).student
    _answer_quiz(graduate, quiz, right=5)
    sent = []
    for n in range(12):
        author = instructor if n % 3 == 0 else student
        sent.append(
            message_create(author=author, course=course, text=f"Message {n + 1} about the prism.")
        )
    # Messages that changed after they were sent: pinned, edited, reacted to.
    changed = sent[-2][0]
    message_pin(actor=instructor, course=course, message_id=sent[0][0].pk, pinned=True)
    message_edit(actor=student, course=course, message_id=changed.pk, text="Message 11, edited.")
    message_react(actor=instructor, course=course, message_id=changed.pk, emoji="👍")
    # Formatting, a reply and a day before today: what the room's look has to carry.
    question, _ = message_create(
        author=instructor, course=course, text="Which **colour** bends the most? Try `n = c / v`."
    )
    message_create(
        author=student,
        course=course,
        text="Violet, see https://en.wikipedia.org/wiki/Dispersion_(optics)\n- shortest wavelength"
        "\n- largest index",
        reply_to=question.pk,
    )
    # Questions about the lesson: one answered (the study page lists it, the room labels it), one
    # open (the instructor's pages count it).
    asked, _ = message_create(
        author=student, course=course, text="Why is the angle **equal**?", about=text.pk
    )
    answer, _ = message_create(
        author=instructor,
        course=course,
        text="Because light takes the quickest path.",
        reply_to=asked.pk,
    )
    question_answer(actor=instructor, course=course, message_id=asked.pk, answer_id=answer.pk)
    message_create(author=student, course=course, text="And in a curved mirror?", about=text.pk)
    Message.objects.filter(room_id=course.pk, seq__lte=4).update(
        created=timezone.now() - timedelta(days=1)
    )
    for content in Content.objects.filter(module__course=course):
        content_completion_create(
            student=graduate, content=content, quiz_passed=content.kind == "quiz"
        )
    staff = UserFactory(username="sam", is_staff=True)
    newcomer = UserFactory(username="newcomer", is_active=False, last_login=None)
    return SimpleNamespace(
        subject=subject,
        course=course,
        lists=lists,
        text=text,
        quiz=quiz,
        newcomer=newcomer,
        certificate=Certificate.objects.get(student=graduate),
        users={"student": student, "instructor": instructor, "staff": staff},
    )


def open_page(session, world, url: str, role: str, viewport: dict, *, daphne=None, **options):
    """A watched page of `role` at `url`, `viewport` wide and high; on `daphne` if given."""
    base_url = daphne.url if daphne else session.base_url
    page = session.new_page(base_url=base_url, viewport=viewport, **options)
    if daphne:
        # Daphne under the test settings serves no /static/; Nginx does in production.
        page.context.route("**/static/**", serve_static)
    if role != "visitor":
        log_in(page, world.users[role], base_url)
    response = page.goto(url)
    assert response.ok, f"{url}: HTTP {response.status}"
    if daphne:
        expect(page.locator("#chat-state")).to_have_attribute("data-state", "connected")
    return page


@pytest.fixture
def daphne(live_asgi_server):
    """A Daphne on the test database, for the chat room's socket."""
    return live_asgi_server("daphne")


def scroll_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


# Buttons, form fields, the header's links and other links that act as controls; a checkbox
# or radio counts with the label around it or pointing at it. Links inside text are exempt.
SMALL_TARGETS = """
min => {
  const selector = "button, .button, input:not([type=hidden]), select, textarea, summary, "
    + "#header a, .pagination a, .subjects a, .modules a, .actions a, .sortable a";
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    let box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered
    if (getComputedStyle(element).visibility === "hidden") continue;
    if (element.type === "checkbox" || element.type === "radio") {
      const label = element.closest("label")
        || (element.id && document.querySelector(`label[for="${element.id}"]`));
      if (label) box = label.getBoundingClientRect();
    }
    if (box.width < min - 0.5 || box.height < min - 0.5) {
      const name = (element.innerText || element.name || element.id || "").trim().slice(0, 30);
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${element.tagName.toLowerCase()} "${name}" ${size}`);
    }
  }
  return small;
}
"""


# Text below 4.5:1 against the first opaque background behind it (WCAG's formula), in the
# colour scheme the page is shown in; hidden text and faded (opacity) states are left out.
LOW_CONTRAST = """
min => {
  const parse = colour => {
    const parts = colour.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean);
    return parts.map(Number).concat(parts.length > 3 ? [] : [1]);
  };
  const luminance = ([r, g, b]) => [r, g, b]
    .map(v => v / 255)
    .map(v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = element => {
    for (let e = element; e; e = e.parentElement) {
      const colour = parse(getComputedStyle(e).backgroundColor);
      if (colour[3] > 0.5) return colour;
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor);
  };
  const faded = element => {
    for (let e = element; e; e = e.parentElement) {
      if (Number(getComputedStyle(e).opacity) < 1) return true;
    }
    return false;
  };
  const low = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(element)) continue;
    seen.add(element);
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height || element.closest(".visually-hidden")) continue;
    if (faded(element)) continue;
    const a = luminance(parse(getComputedStyle(element).color));
    const b = luminance(background(element));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < min) {
      const text = walker.currentNode.textContent.trim().slice(0, 30);
      low.push(`${element.tagName.toLowerCase()} "${text}" ${ratio.toFixed(2)}:1`);
    }
  }
  return low;
}
"""
MIN_CONTRAST = 4.5

AXE = Axe()
AXE_BLOCKING = {"serious", "critical"}  # axe's impacts that fail a page


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as shown, one per element."""
    violations = AXE.run(page).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {violation['help']}"
        for violation in violations
        if violation["impact"] in AXE_BLOCKING
        for node in violation["nodes"]
    ]


def screenshot(page, name: str) -> None:
    """A full-page screenshot, screenshots/layout/<name>.png (`make screenshots` picks some)."""
    LAYOUT_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=LAYOUT_SHOTS / f"{name}.png", full_page=True)


def page_id(page: Page) -> str:
    return f"{page.route}-{page.role}"


# --- tests ------------------------------------------------------------------------------------


def test_every_page_route_has_a_layout_entry():
    listed = {page.route for page in PAGES}
    missing = sorted(
        route.name
        for route in project_routes()
        if not _not_a_page(route.name) and route.name not in listed
    )

    assert missing == []


def test_every_entry_names_an_existing_route():
    names = {route.name for route in project_routes()}
    stale = [page.route for page in PAGES if page.route not in names]

    assert stale == []


@in_chromium
@pytest.mark.parametrize("entry", PAGES, ids=page_id)
def test_page_fits_phone_widths_with_touch_sized_controls_legible_text_and_no_axe_violation(
    request, session, world, entry
):
    daphne = request.getfixturevalue("daphne") if entry.live_chat else None
    page = open_page(session, world, entry.url(world), entry.role, DESKTOP, daphne=daphne)
    name = page_id(entry)
    screenshot(page, f"{name}-desktop")
    axe = {"desktop": axe_violations(page)}
    too_wide, small = [], []
    for viewport in PHONES:
        page.set_viewport_size(viewport)
        width, inner = scroll_width(page)
        if width > inner:
            too_wide.append(f"{width} px wide at {inner}")
        screenshot(page, f"{name}-phone-{viewport['width']}")
    small = page.evaluate(SMALL_TARGETS, MIN_TARGET)
    low_contrast = {"light": page.evaluate(LOW_CONTRAST, MIN_CONTRAST)}
    axe["phone"] = axe_violations(page)
    page.emulate_media(color_scheme="dark")
    low_contrast["dark"] = page.evaluate(LOW_CONTRAST, MIN_CONTRAST)
    axe["phone-dark"] = axe_violations(page)
    screenshot(page, f"{name}-phone-360-dark")
    page.context.close()

    assert too_wide == []
    assert small == []
    assert low_contrast == {"light": [], "dark": []}
    assert axe == {"desktop": [], "phone": [], "phone-dark": []}


@in_chromium
def test_quiz_form_on_the_study_page_shows_every_question_kind_within_a_phone(session, world):
    """The quiz card alone, at desktop and phone widths: `make screenshots` shows it (quiz)."""
    url = reverse("student_course_detail_module", args=[world.course.pk, world.lists.pk])
    page = open_page(session, world, url, "student", DESKTOP)
    quiz = page.locator(f"#content-{world.quiz.pk}")
    LAYOUT_SHOTS.mkdir(parents=True, exist_ok=True)
    quiz.screenshot(path=LAYOUT_SHOTS / "quiz_form-desktop.png")
    page.set_viewport_size(PHONES[0])
    quiz.screenshot(path=LAYOUT_SHOTS / "quiz_form-phone-390.png")

    questions = quiz.locator(".quiz-question")
    expect(questions).to_have_count(5)
    for question in questions.all():
        expect(question.locator("input").first).to_be_visible()
    box = quiz.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONES[0]["width"]
    expect(quiz.get_by_role("button", name="Submit answers")).to_be_visible()
    page.context.close()


@in_chromium
@pytest.mark.parametrize("height", [640, 300])
def test_chat_input_is_in_view_on_a_phone(session, world, daphne, height):
    url = reverse("chat_room", args=[world.course.pk])
    viewport = {"width": 360, "height": height}
    page = open_page(session, world, url, "student", viewport, daphne=daphne)
    screenshot(page, f"chat-room-360x{height}")

    for control in (page.locator("#chat-input"), page.get_by_role("button", name="Send")):
        expect(control).to_be_in_viewport(ratio=1)
    expect(page.locator("#chat-messages li").last).to_be_in_viewport()
    page.context.close()


# The width a text input's placeholder needs, in its own font (plus its padding).
PLACEHOLDER_WIDTH = """input => {
    const style = getComputedStyle(input);
    const context = document.createElement("canvas").getContext("2d");
    context.font = style.font;
    return context.measureText(input.placeholder).width
        + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
}"""


@in_chromium
@pytest.mark.parametrize("viewport", [DESKTOP, PHONES[1]], ids=["desktop", "phone-360"])
def test_the_room_search_box_shows_its_whole_placeholder_beside_a_long_title(
    session, world, daphne, viewport
):
    url = reverse("chat_room", args=[world.course.pk])
    page = open_page(session, world, url, "student", viewport, daphne=daphne)
    search = page.locator("#chat-search-input")

    needed = search.evaluate(PLACEHOLDER_WIDTH)

    assert search.bounding_box()["width"] >= needed
    page.context.close()


@in_chromium
def test_the_online_list_opens_behind_its_toggle_on_a_phone(session, world, daphne):
    url = reverse("chat_room", args=[world.course.pk])
    page = open_page(session, world, url, "student", PHONES[1], daphne=daphne)
    toggle = page.get_by_role("button", name="Online")
    expect(page.locator("#chat-online-panel")).to_be_hidden()

    toggle.click()

    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#chat-online-panel")).to_contain_text("marie")
    screenshot(page, "chat-room-online-open-phone-360")
    page.context.close()


@in_chromium
def test_the_menu_button_opens_and_closes_the_navigation_from_the_keyboard(session, world):
    page = open_page(session, world, reverse("course_list"), "student", PHONES[1])
    menu = page.get_by_role("button", name="Menu")
    log_out = page.get_by_role("button", name="Log out")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(log_out).to_be_hidden()

    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="marie")).to_be_in_viewport()
    expect(log_out).to_be_in_viewport()
    screenshot(page, "menu-open-phone-360")
    page.keyboard.press("Escape")

    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    page.context.close()


@in_chromium
def test_without_javascript_the_whole_navigation_shows_and_fits_a_phone(session, world):
    page = open_page(
        session, world, reverse("course_list"), "student", PHONES[1], java_script_enabled=False
    )

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    width, inner = scroll_width(page)
    assert width <= inner
    page.context.close()


@in_chromium
def test_tables_scroll_inside_their_box_not_the_page(session, world):
    url = reverse("course_grades", args=[world.course.pk])
    page = open_page(session, world, url, "instructor", PHONES[1])
    box = page.locator(".table-scroll")

    widths = box.evaluate("box => [box.scrollWidth, box.clientWidth]")

    assert widths[0] > widths[1]
    assert scroll_width(page)[0] <= PHONES[1]["width"]
    page.context.close()


@in_chromium
def test_every_control_reached_by_tab_shows_a_focus_ring(session, world):
    page = open_page(session, world, reverse("course_list"), "student", DESKTOP)
    reached, without_ring = set(), []
    while True:
        page.keyboard.press("Tab")
        focused, has_ring = page.evaluate(
            """() => {
              const element = document.activeElement;
              const style = getComputedStyle(element);
              return [element === document.body ? null : element.outerHTML.slice(0, 80),
                      style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2];
            }"""
        )
        if focused is None or focused in reached:  # past the last control
            break
        reached.add(focused)
        if not has_ring:
            without_ring.append(focused)
    page.context.close()

    assert len(reached) >= 8
    assert without_ring == []


def pages_named(*routes: str) -> list[Page]:
    return [page for page in PAGES if page.route in routes]


# Forms whose fields, emptied and sent, come back with errors shown beside them.
FORMS = pages_named(
    "login",
    "student_registration",
    "password_change",
    "course_create",
    "course_module_update",
    "module_content_create",
    "module_content_update",
)

SEND_EMPTY = """
form => {
  form.noValidate = true;  // the server's errors, not the browser's bubbles
  const fields = "input[type=text], input[type=email], input[type=url], input[type=password], "
    + "textarea";
  for (const field of form.querySelectorAll(fields)) field.value = "";
  form.requestSubmit();
}
"""


@in_chromium
@pytest.mark.parametrize("entry", FORMS, ids=page_id)
def test_a_form_showing_its_errors_has_no_axe_violation(session, world, entry):
    page = open_page(session, world, entry.url(world), entry.role, DESKTOP)
    form = page.locator("#content form[method=post]").first
    with page.expect_navigation():
        form.evaluate(SEND_EMPTY)
    expect(page.locator(".errorlist").first).to_be_visible()
    screenshot(page, f"{page_id(entry)}-errors-desktop")
    axe = {"desktop": axe_violations(page)}
    page.set_viewport_size(PHONES[1])
    axe["phone"] = axe_violations(page)
    page.context.close()

    assert axe == {"desktop": [], "phone": []}


@in_chromium
def test_a_long_chat_history_written_by_others_has_no_axe_violation(session, world, daphne):
    reader = EnrollmentFactory(course=world.course, student=UserFactory(username="reader")).student
    world.users["reader"] = reader
    for n in range(40):
        message_create(author=world.users["student"], course=world.course, text=f"Line {n}.")
    url = reverse("chat_room", args=[world.course.pk])
    page = open_page(session, world, url, "reader", DESKTOP, daphne=daphne)
    axe = {"desktop": axe_violations(page)}
    page.set_viewport_size(PHONES[1])
    axe["phone"] = axe_violations(page)
    page.context.close()

    assert axe == {"desktop": [], "phone": []}


@in_chromium
def test_the_message_list_is_a_polite_log_that_announces_only_new_messages(session, world, daphne):
    url = reverse("chat_room", args=[world.course.pk])
    page = open_page(session, world, url, "student", DESKTOP, daphne=daphne)
    log = page.get_by_role("log", name="Messages")
    items = page.locator("#chat-messages li.chat-message")
    before = items.count()
    # Each message shown so far is marked: a re-rendered list would lose the marks.
    items.evaluate_all("items => items.forEach(item => { item.dataset.shown = 'yes'; })")

    page.locator("#chat-input").fill("A new line for the log.")
    page.get_by_role("button", name="Send").click()
    expect(items).to_have_count(before + 1)
    expect(items.last).not_to_have_class("chat-message own pending")

    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_attribute("aria-relevant", "additions")
    expect(log.locator("li.chat-message").last).to_contain_text("A new line for the log.")
    assert page.locator("#chat-messages li[data-shown=yes]").count() == before
    page.context.close()


@in_chromium
def test_the_open_menu_and_online_list_on_a_phone_have_no_axe_violation(session, world, daphne):
    menu_page = open_page(session, world, reverse("course_list"), "student", PHONES[1])
    menu_page.get_by_role("button", name="Menu").click()
    violations = axe_violations(menu_page)
    menu_page.context.close()
    url = reverse("chat_room", args=[world.course.pk])
    chat_page = open_page(session, world, url, "instructor", PHONES[1], daphne=daphne)
    chat_page.get_by_role("button", name="Online").click()
    expect(chat_page.locator("#chat-online-panel")).to_contain_text("ada")
    violations += axe_violations(chat_page)
    chat_page.context.close()

    assert violations == []


# The confirmation dialogs of static/js/confirm.js opened from a page's form:
# (id, role, url, the button that opens the dialog).
FORM_DIALOGS = [
    (
        "leave-course",
        "student",
        lambda world: reverse("student_course_detail", args=[world.course.pk]),
        "Leave this course",
    ),
    (
        "delete-content",
        "instructor",
        lambda world: reverse("module_content_list", args=[world.lists.pk]),
        "Delete",
    ),
]


def dialog_axe(page, name: str) -> dict[str, list[str]]:
    """axe's violations with the page's open modal dialog, at desktop and phone widths."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    axe = {"desktop": axe_violations(page)}
    page.set_viewport_size(PHONES[1])
    expect(dialog).to_be_visible()
    axe["phone"] = axe_violations(page)
    screenshot(page, f"{name}-dialog-phone-360")
    return axe


@in_chromium
@pytest.mark.parametrize(
    ("name", "role", "url", "opener"), FORM_DIALOGS, ids=[dialog[0] for dialog in FORM_DIALOGS]
)
def test_a_confirmation_dialog_open_has_no_axe_violation(session, world, name, role, url, opener):
    page = open_page(session, world, url(world), role, DESKTOP)
    page.get_by_role("button", name=opener, exact=True).first.click()
    axe = dialog_axe(page, name)
    page.context.close()

    assert axe == {"desktop": [], "phone": []}


@in_chromium
def test_the_delete_message_dialog_open_has_no_axe_violation(session, world, daphne):
    url = reverse("chat_room", args=[world.course.pk])
    page = open_page(session, world, url, "instructor", DESKTOP, daphne=daphne)
    page.locator("#chat-messages li.chat-message").last.get_by_role("button", name="Delete").click()
    axe = dialog_axe(page, "delete-message")
    page.context.close()

    assert axe == {"desktop": [], "phone": []}


@in_chromium
def test_the_mute_dialog_open_has_no_axe_violation(session, world, daphne):
    url = reverse("chat_room", args=[world.course.pk])
    student = open_page(session, world, url, "student", DESKTOP, daphne=daphne)
    page = open_page(session, world, url, "instructor", DESKTOP, daphne=daphne)
    page.get_by_role("button", name="Mute marie").click()
    axe = dialog_axe(page, "mute")
    page.context.close()
    student.context.close()

    assert axe == {"desktop": [], "phone": []}


@in_chromium
@pytest.mark.parametrize(
    ("role", "path", "status"),
    [("visitor", "/no-such-page/", 404), ("student", "/chat/room/{other}/", 403)],
    ids=["not-found", "forbidden"],
)
def test_an_error_page_has_no_axe_violation(session, world, role, path, status):
    other = CourseFactory(owner=world.users["instructor"], title="Heat", slug="heat")
    page = session.new_page(viewport=DESKTOP)
    if role != "visitor":
        log_in(page, world.users[role], session.base_url)
    response = page.goto(path.format(other=other.pk))
    assert response.status == status
    axe = {"desktop": axe_violations(page)}
    page.set_viewport_size(PHONES[1])
    axe["phone"] = axe_violations(page)
    page.context.close()

    assert axe == {"desktop": [], "phone": []}
