"""Quiz grades: the gradebook's quiz columns and CSV, and a student's own grades on the study
page and in the API."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import CourseFactory, EnrollmentFactory, ModuleFactory, UserFactory

from .helpers import quiz_in, take

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory(title="Optics")


@pytest.fixture
def student(course):
    user = UserFactory(username="marie")
    EnrollmentFactory(student=user, course=course)
    return user


def grades_url(course, **query):
    url = reverse("course_grades", args=[course.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- the gradebook ----------------------------------------------------------------------------


def test_the_gradebook_shows_the_best_score_and_attempts_used(client, course, student):
    quiz = quiz_in(course, title="Lenses")
    take(student, quiz, right=0)
    take(student, quiz, right=1)
    client.force_login(course.owner)

    page = client.get(grades_url(course)).content.decode()

    assert "Lenses" in page
    assert "50&nbsp;% · 2/3" in page


def test_the_gradebook_marks_a_passed_quiz(client, course, student):
    take(student, quiz_in(course), right=2)
    client.force_login(course.owner)

    page = client.get(grades_url(course)).content.decode()

    assert "100&nbsp;% · 1/3" in page and "passed" in page


def test_the_gradebook_has_one_quiz_column_per_quiz_in_course_order(client, course, student):
    first_module = ModuleFactory(course=course)
    second_module = ModuleFactory(course=course)
    quiz_in(course, title="Zeta", module=first_module)
    quiz_in(course, title="Alpha", module=second_module)
    client.force_login(course.owner)

    rows = csv_rows(client.get(grades_url(course, format="csv")))

    quiz_headers = rows[0][6:]
    assert quiz_headers == [
        "Zeta: best score (%)",
        "Zeta: attempts",
        "Alpha: best score (%)",
        "Alpha: attempts",
    ]


def test_the_gradebook_sorts_by_a_quiz_best_score(client, course, student):
    quiz = quiz_in(course)
    other = UserFactory(username="pierre")
    EnrollmentFactory(student=other, course=course)
    take(student, quiz, right=1)
    take(other, quiz, right=2)
    client.force_login(course.owner)

    ascending = client.get(grades_url(course, sort=f"quiz-{quiz.pk}")).content.decode()
    descending = client.get(grades_url(course, sort=f"-quiz-{quiz.pk}")).content.decode()

    assert ascending.index("marie") < ascending.index("pierre")
    assert descending.index("pierre") < descending.index("marie")


def test_the_csv_gives_the_best_score_and_attempts_of_each_quiz(client, course, student):
    quiz = quiz_in(course)
    take(student, quiz, right=1)
    take(student, quiz, right=0)
    client.force_login(course.owner)

    rows = csv_rows(client.get(grades_url(course, format="csv")))

    assert rows[1][6:] == ["50.0", "2"]


def test_the_csv_leaves_a_quiz_not_tried_empty_with_no_attempts(client, course, student):
    quiz_in(course)
    client.force_login(course.owner)

    rows = csv_rows(client.get(grades_url(course, format="csv")))

    assert rows[1][6:] == ["", "0"]


def test_the_csv_defuses_a_quiz_title_a_spreadsheet_would_run(client, course, student):
    quiz_in(course, title='=HYPERLINK("http://evil.example","x")')
    client.force_login(course.owner)

    rows = csv_rows(client.get(grades_url(course, format="csv")))

    assert rows[0][6] == '\'=HYPERLINK("http://evil.example","x"): best score (%)'


def test_the_gradebook_queries_stay_the_same_for_more_students_quizzes_and_attempts(
    client, course, student, django_assert_max_num_queries
):
    take(student, quiz_in(course), right=1)
    client.force_login(course.owner)
    with CaptureQueriesContext(connection) as small:
        client.get(grades_url(course))
        client.get(grades_url(course, format="csv"))
    quizzes = [quiz_in(course) for _ in range(3)]
    for _ in range(4):
        other = UserFactory()
        EnrollmentFactory(student=other, course=course)
        for quiz in quizzes:
            take(other, quiz, right=0)
            take(other, quiz, right=2)

    with django_assert_max_num_queries(len(small)):
        client.get(grades_url(course))
        client.get(grades_url(course, format="csv"))


# --- a student's own grades -------------------------------------------------------------------


def study_url(course):
    return reverse("student_course_detail", args=[course.pk])


def test_the_study_page_shows_the_student_their_grades(client, course, student):
    take(student, quiz_in(course, title="Lenses"), right=1)
    client.force_login(student)

    page = client.get(study_url(course)).content.decode()

    assert "Your grades" in page
    assert "Lenses" in page and "50&nbsp;%" in page and "1/3" in page


def test_the_study_page_grades_follow_a_new_attempt(client, course, student):
    quiz = quiz_in(course)
    take(student, quiz, right=1)
    client.force_login(student)
    client.get(study_url(course))  # a CSRF cookie, so that the page is cached
    client.get(study_url(course))

    take(student, quiz, right=2)

    assert "100&nbsp;%" in client.get(study_url(course)).content.decode()


def test_the_study_page_never_shows_another_students_grades(client, course, student):
    quiz = quiz_in(course)
    take(student, quiz, right=2)
    classmate = UserFactory()
    EnrollmentFactory(student=classmate, course=course)
    client.force_login(classmate)

    page = client.get(study_url(course)).content.decode()

    assert "100&nbsp;%" not in page and "0/3" in page


def test_the_api_gives_each_course_its_grades(course, student):
    quiz = quiz_in(course, title="Lenses", attempts_allowed=None)
    take(student, quiz, right=1)
    api = APIClient()
    api.force_authenticate(student)

    grades = api.get("/api/me/courses/").json()["results"][0]["grades"]

    assert grades == [
        {
            "content": quiz.pk,
            "title": "Lenses",
            "best_score": 50.0,
            "attempts": 1,
            "attempts_allowed": None,
            "passed": False,
        }
    ]


def test_the_api_never_gives_another_students_grades(course, student):
    quiz = quiz_in(course)
    take(student, quiz, right=2)
    classmate = UserFactory()
    EnrollmentFactory(student=classmate, course=course)
    api = APIClient()
    api.force_authenticate(classmate)

    grade = api.get("/api/me/courses/").json()["results"][0]["grades"][0]

    assert (grade["best_score"], grade["attempts"], grade["passed"]) == (None, 0, False)


def test_the_api_queries_stay_the_same_for_more_courses_and_quizzes(
    student, course, django_assert_max_num_queries
):
    take(student, quiz_in(course), right=1)
    api = APIClient()
    api.force_authenticate(student)
    with CaptureQueriesContext(connection) as small:
        api.get("/api/me/courses/")
    for _ in range(3):
        other = CourseFactory()
        EnrollmentFactory(student=student, course=other)
        for _ in range(2):
            take(student, quiz_in(other), right=2)

    with django_assert_max_num_queries(len(small)):
        api.get("/api/me/courses/")


def test_a_quiz_title_with_markup_is_text_in_the_gradebook_and_the_study_page(
    client, course, student
):
    take(student, quiz_in(course, title="<script>alert('quiz')</script>"), right=1)

    client.force_login(course.owner)
    gradebook = client.get(grades_url(course)).content.decode()
    client.force_login(student)
    study = client.get(study_url(course)).content.decode()

    for page in (gradebook, study):
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#x27;quiz&#x27;)&lt;/script&gt;" in page
