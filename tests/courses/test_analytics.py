"""A course's analytics: the charts' numbers, their weeks, their cost in queries, their cache,
and the page that shows them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from chat.models import Message
from chat.services import message_create
from courses.analytics import (
    ANALYTICS_CHARTS,
    chart_chat_messages_per_week,
    chart_enrollments_per_week,
    chart_quiz_questions_wrong,
    chart_quiz_scores,
    course_analytics,
    module_funnel_rows,
    question_tallies_most_wrong,
    quiz_best_score_bands,
    score_band,
    weeks_ending,
)
from students.models import Enrollment
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    UserFactory,
)
from tests.quizzes.helpers import quiz_in, take

pytestmark = pytest.mark.django_db

# A Wednesday: its ISO week began on Monday 30 November 2026.
TODAY = datetime.date(2026, 12, 2)


def at(day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def complete(student, *contents):
    for content in contents:
        ContentCompletionFactory(student=student, content=content)


# --- completion funnel ------------------------------------------------------------------------


def test_the_funnel_counts_who_reached_and_who_finished_each_module_in_order(course):
    first, second, empty = (ModuleFactory(course=course, title=t) for t in ("A", "B", "C"))
    first_contents = [ContentFactory(module=first) for _ in range(2)]
    second_content = ContentFactory(module=second)
    everything, started, idle = (EnrollmentFactory(course=course).student for _ in range(3))
    complete(everything, *first_contents, second_content)
    complete(started, first_contents[0])

    rows = module_funnel_rows(course=course)

    assert [(row.title, row.content_count, row.reached, row.finished) for row in rows] == [
        ("A", 2, 2, 1),
        ("B", 1, 1, 1),
        ("C", 0, 0, 0),
    ]


def test_a_student_counts_as_reaching_the_module_they_last_opened(course):
    first, second = ModuleFactory(course=course), ModuleFactory(course=course)
    content = ContentFactory(module=first)
    ContentFactory(module=second)
    enrollment = EnrollmentFactory(course=course, last_module=second)
    complete(enrollment.student, content)

    rows = module_funnel_rows(course=course)

    assert [(row.reached, row.finished) for row in rows] == [(1, 1), (1, 0)]


def test_opening_a_module_without_contents_reaches_it_but_finishes_nothing(course):
    empty = ModuleFactory(course=course)
    EnrollmentFactory(course=course, last_module=empty)

    (row,) = module_funnel_rows(course=course)

    assert (row.content_count, row.reached, row.finished) == (0, 1, 0)


def test_the_funnel_leaves_out_students_who_left_the_course(course):
    content = ContentFactory(module=ModuleFactory(course=course))
    leaver = EnrollmentFactory(course=course).student
    complete(leaver, content)
    Enrollment.objects.filter(student=leaver).delete()

    (row,) = module_funnel_rows(course=course)

    assert (row.reached, row.finished) == (0, 0)


def test_the_funnel_counts_no_completion_of_another_course(course):
    content = ContentFactory(module=ModuleFactory(course=course))
    elsewhere = ContentFactory(module=ModuleFactory(course=CourseFactory()))
    student = EnrollmentFactory(course=course).student
    EnrollmentFactory(course=elsewhere.module.course, student=student)
    complete(student, elsewhere)

    (row,) = module_funnel_rows(course=course)

    assert row.reached == 0
    assert content.module_id == row.module_id


# --- weeks ------------------------------------------------------------------------------------


def test_the_weeks_are_the_twelve_iso_weeks_up_to_today_oldest_first():
    weeks = weeks_ending(TODAY)

    assert len(weeks) == 12
    assert weeks[-1] == datetime.date(2026, 11, 30)
    assert weeks[0] == datetime.date(2026, 9, 14)
    assert all(monday.isoweekday() == 1 for monday in weeks)


def test_chat_messages_fall_in_their_iso_week_and_empty_weeks_show_zero(course):
    student = EnrollmentFactory(course=course).student
    sent = {
        "sunday night, last week": at(datetime.date(2026, 11, 29), 23, 59),
        "monday morning, this week": at(datetime.date(2026, 11, 30), 0, 1),
        "today": at(TODAY),
        "three weeks ago": at(datetime.date(2026, 11, 11)),
        "before the twelve weeks": at(datetime.date(2026, 9, 13), 23, 59),
    }
    for label, created in sent.items():
        message, _ = message_create(author=student, course=course, text=label)
        Message.objects.filter(pk=message.pk).update(created=created)

    chart = chart_chat_messages_per_week(course=course, today=TODAY)

    assert [row.values[0] for row in chart.rows] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2]
    assert chart.rows[-1].label == "30 Nov 2026"


def test_enrollments_are_counted_per_week_of_enrolling(course):
    for day in (datetime.date(2026, 11, 23), datetime.date(2026, 11, 24), TODAY):
        enrollment = EnrollmentFactory(course=course)
        Enrollment.objects.filter(pk=enrollment.pk).update(created=at(day))

    chart = chart_enrollments_per_week(course=course, today=TODAY)

    assert [row.values[0] for row in chart.rows][-3:] == [0, 2, 1]


# --- quizzes ----------------------------------------------------------------------------------


def test_a_score_falls_in_its_ten_point_band_and_100_with_90():
    assert [score_band(p) for p in (0, 9.99, 10, 55, 90, 100)] == [0, 0, 1, 5, 9, 9]


def test_each_student_counts_once_at_their_best_score(course):
    quiz = quiz_in(course, questions=2)
    improver, steady = (EnrollmentFactory(course=course).student for _ in range(2))
    take(improver, quiz, right=0)
    take(improver, quiz, right=2)
    take(steady, quiz, right=1)

    bands = quiz_best_score_bands(course=course)[quiz.pk]

    assert (sum(bands), bands[0], bands[5], bands[9]) == (2, 0, 1, 1)


def test_the_score_bands_leave_out_students_who_left(course):
    quiz = quiz_in(course)
    leaver = EnrollmentFactory(course=course).student
    take(leaver, quiz, right=2)
    Enrollment.objects.filter(student=leaver).delete()

    assert quiz_best_score_bands(course=course) == {}


def test_each_quiz_gets_its_score_chart_in_course_order(course):
    first = quiz_in(course, title="Lenses")
    quiz_in(course, title="Mirrors")
    take(EnrollmentFactory(course=course).student, first, right=1)

    charts = chart_quiz_scores(course=course, today=TODAY)

    assert [chart.title for chart in charts] == ["Best scores: Lenses", "Best scores: Mirrors"]
    assert charts[0].rows[5].label == "50–59 %" and charts[0].rows[5].values == (1,)
    assert charts[1].empty


def test_a_course_without_quizzes_has_no_quiz_charts(course):
    ContentFactory(module=ModuleFactory(course=course))

    assert chart_quiz_scores(course=course, today=TODAY) == ()
    assert chart_quiz_questions_wrong(course=course, today=TODAY) == ()


def test_the_questions_most_often_wrong_come_first_by_share(course):
    quiz = quiz_in(course, questions=3)
    easy, medium, hard = sorted(quiz.item.questions.values_list("pk", flat=True))
    for wrong in ([hard], [hard, medium], []):
        take(EnrollmentFactory(course=course).student, quiz, wrong_ids=wrong)

    tallies, _ = question_tallies_most_wrong(course=course)

    assert [(t.question_id, t.wrong, t.graded) for t in tallies] == [(hard, 2, 3), (medium, 1, 3)]


def test_the_questions_chart_shows_at_most_ten_questions(course):
    quiz = quiz_in(course, questions=12)
    take(EnrollmentFactory(course=course).student, quiz, right=0)

    (chart,) = chart_quiz_questions_wrong(course=course, today=TODAY)

    assert len(chart.rows) == 10 and chart.rows[0].values == (1, 1, 100)


def test_the_questions_keep_the_text_their_attempts_were_asked(course):
    quiz = quiz_in(course, title="Lenses", questions=1)
    take(EnrollmentFactory(course=course).student, quiz, right=0)
    quiz.item.questions.update(text="Edited since")

    (chart,) = chart_quiz_questions_wrong(course=course, today=TODAY)

    assert chart.rows[0].label.startswith("Lenses: Question")


def test_the_questions_chart_says_so_when_nothing_is_wrong_yet(course):
    quiz = quiz_in(course)
    take(EnrollmentFactory(course=course).student, quiz, right=2)

    (chart,) = chart_quiz_questions_wrong(course=course, today=TODAY)

    assert chart.empty and chart.rows == ()


# --- cost and cache ---------------------------------------------------------------------------


def populate(course, *, students: int, modules: int, messages: int, quizzes: int = 1) -> None:
    contents = [ContentFactory(module=ModuleFactory(course=course)) for _ in range(modules)]
    quiz_contents = [quiz_in(course, questions=3) for _ in range(quizzes)]
    for index in range(students):
        student = EnrollmentFactory(course=course).student
        complete(student, *contents[: len(contents) // 2 + 1])
        for n in range(messages // students):
            message_create(author=student, course=course, text=f"message {n}")
        for quiz in quiz_contents:
            take(student, quiz, right=index % 3)
            take(student, quiz, right=(index + 1) % 4)


def analytics_queries(course) -> int:
    with CaptureQueriesContext(connection) as queries:
        course_analytics(course=course)
    return len(queries)


def test_the_analytics_cost_the_same_queries_for_a_small_and_a_large_course():
    small, large = CourseFactory(), CourseFactory()
    populate(small, students=1, modules=1, messages=1, quizzes=1)
    populate(large, students=8, modules=6, messages=40, quizzes=3)

    # The funnel and each of the two quiz selectors take two queries, the others one.
    assert analytics_queries(small) == analytics_queries(large) == len(ANALYTICS_CHARTS) + 3


def test_the_analytics_come_from_the_cache_until_it_expires(course, memcached_cache):
    content = ContentFactory(module=ModuleFactory(course=course))
    first = course_analytics(course=course)
    complete(EnrollmentFactory(course=course).student, content)

    with CaptureQueriesContext(connection) as queries:
        again = course_analytics(course=course)

    assert len(queries) == 0
    assert again == first
    assert again.charts[0].rows[0].values == (0, 0)


def test_the_cache_lives_analytics_cache_seconds(course, settings):
    settings.ANALYTICS_CACHE_SECONDS = 0  # an entry that expires at once
    course_analytics(course=course)

    assert analytics_queries(course) > 0


def test_each_language_has_its_own_cache_entry(course):
    course_analytics(course=course)

    with translation.override("fr"):
        assert analytics_queries(course) > 0
        assert analytics_queries(course) == 0


# --- the page ---------------------------------------------------------------------------------


@pytest.fixture
def page(client, course):
    def get(user):
        client.force_login(user)
        return client.get(reverse("course_analytics", args=[course.pk]))

    return get


def test_the_page_shows_each_chart_with_its_table(page, course):
    ModuleFactory(course=course, title="Optics")

    html = page(course.owner).content.decode()

    for title in ("Completion by module", "New students per week", "Chat messages per week"):
        assert f">{title}</h2>" in html
    assert html.count('role="img"') == 3
    assert html.count("<table>") == 3
    assert '<th scope="row">1. Optics</th>' in html


def test_the_page_shows_the_quiz_charts_with_their_tables(page, course):
    quiz = quiz_in(course, title="Lenses")
    take(EnrollmentFactory(course=course).student, quiz, right=1)

    html = page(course.owner).content.decode()

    assert ">Best scores: Lenses</h2>" in html
    assert ">Questions most often answered wrong</h2>" in html
    assert html.count('role="img"') == 5 and html.count("<table>") == 5


def test_quiz_and_question_texts_are_shown_as_text_in_charts_and_tables(page, course):
    quiz = quiz_in(course, title="<script>alert('quiz')</script>", questions=1)
    quiz.item.questions.update(text="<script>alert('question')</script>")
    take(EnrollmentFactory(course=course).student, quiz, right=0)

    html = page(course.owner).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;question&#x27;)" in html


def test_the_page_costs_the_same_queries_for_a_small_and_a_large_course(client):
    owner = InstructorFactory()
    small, large = CourseFactory(owner=owner), CourseFactory(owner=owner)
    populate(small, students=1, modules=1, messages=1, quizzes=1)
    populate(large, students=6, modules=5, messages=24, quizzes=2)
    client.force_login(owner)
    queries = []
    for course in (small, large):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("course_analytics", args=[course.pk])).status_code == 200
        queries.append(len(captured))

    assert queries[0] == queries[1]


def test_the_page_says_its_figures_are_updated_every_minute(page, course):
    html = page(course.owner).content.decode()

    assert "updated every minute" in html


def test_a_course_without_modules_says_so_instead_of_an_empty_funnel(page, course):
    html = page(course.owner).content.decode()

    assert "This course has no modules yet." in html
    assert html.count('role="img"') == 2


def test_titles_with_markup_are_shown_as_text_in_charts_and_tables(client):
    owner = InstructorFactory()
    course = CourseFactory(owner=owner, title="<script>alert('course')</script>")
    ModuleFactory(course=course, title="<script>alert('module')</script>")
    client.force_login(owner)

    html = client.get(reverse("course_analytics", args=[course.pk])).content.decode()

    assert "<script>alert" not in html
    # In the funnel's accessible name and tooltip, and in its table (the label is cut short).
    assert html.count("&lt;script&gt;alert(&#x27;module&#x27;)&lt;/script&gt;") == 3
    assert '<text x="0" y="' in html and "&lt;script&gt;alert(&#x27;mod" in html
    assert "Analytics of &lt;script&gt;alert(&#x27;course&#x27;)" in html


def test_staff_see_the_analytics_of_any_course(page, course):
    assert page(UserFactory(is_staff=True)).status_code == 200


def test_another_instructor_gets_a_404(page):
    assert page(InstructorFactory()).status_code == 404


def test_a_student_of_the_course_gets_a_403(page, course):
    assert page(EnrollmentFactory(course=course).student).status_code == 403


def test_the_instructor_home_and_the_students_page_link_the_analytics(client, course):
    link = f'href="{reverse("course_analytics", args=[course.pk])}"'
    client.force_login(course.owner)

    assert link in client.get(reverse("instructor_home")).content.decode()
    assert link in client.get(reverse("course_grades", args=[course.pk])).content.decode()
