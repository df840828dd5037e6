"""The quiz parts of the API: quizzes in course contents, the owner's writes, attempts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import Content, Quiz
from quizzes.models import Attempt
from quizzes.services import ATTEMPT_EXPIRED, ATTEMPTS_USED_UP
from students.models import ContentCompletion, CourseCompletion
from tests.clients import logged_in
from tests.factories import ContentFactory, EnrollmentFactory, QuestionFactory, UserFactory

from .conftest import right_answers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _throttle_counters_in_memory(throttle_in_memory):
    pass


@pytest.fixture
def student_api(enrolled):
    return logged_in(enrolled)


def start(client, content):
    return client.post(f"/api/contents/{content.pk}/attempts/")


def submit(client, attempt_id, answers):
    return client.post(f"/api/attempts/{attempt_id}/submit/", {"answers": answers}, format="json")


def test_students_read_a_quiz_in_the_course_contents_without_answers(student_api, quiz_content):
    response = student_api.get(f"/api/courses/{quiz_content.module.course_id}/contents/")
    quiz = response.json()["modules"][0]["contents"][0]
    assert quiz["kind"] == "quiz"
    assert len(quiz["questions"]) == 5
    assert "accepted_answers" not in str(quiz) and "correct" not in str(quiz)


def test_the_owner_reads_the_full_quiz(quiz_content):
    client = logged_in(quiz_content.module.course.owner)
    quiz = client.get(f"/api/contents/{quiz_content.pk}/").json()
    text = next(q for q in quiz["questions"] if q["kind"] == "text")
    assert text["accepted_answers"] == ["Paris", "Paname"]


def test_starting_gives_the_attempts_questions_and_deadline(student_api, quiz_content):
    response = start(student_api, quiz_content)
    assert response.status_code == 201
    body = response.json()
    assert {"id", "questions", "deadline"} <= set(body)
    assert body["deadline"] is None
    assert [q["id"] for q in body["questions"]] == [
        q["id"] for q in Attempt.objects.get().questions
    ]


def test_a_timed_attempt_has_a_deadline(student_api, quiz_content, quiz):
    quiz.time_limit = 10
    quiz.save()
    assert start(student_api, quiz_content).json()["deadline"] is not None


def test_submitting_grades_and_returns_the_result(student_api, quiz_content, enrolled):
    attempt_id = start(student_api, quiz_content).json()["id"]
    answers = right_answers(Attempt.objects.get())
    body = submit(student_api, attempt_id, answers).json()
    assert (body["score"], body["passed"], body["status"]) == (6, True, "graded")
    assert ContentCompletion.objects.filter(student=enrolled, content=quiz_content).exists()


def test_submitting_again_returns_the_same_result(student_api, quiz_content):
    attempt_id = start(student_api, quiz_content).json()["id"]
    first = submit(student_api, attempt_id, right_answers(Attempt.objects.get())).json()
    again = submit(student_api, attempt_id, {})
    assert again.status_code == 200
    assert again.json() == first


def test_a_wrong_answer_shape_is_a_400_naming_the_question(student_api, quiz_content):
    attempt_id = start(student_api, quiz_content).json()["id"]
    single = Attempt.objects.get().questions[0]
    response = submit(student_api, attempt_id, {str(single["id"]): True})
    assert response.status_code == 400
    assert str(single["id"]) in response.json()["errors"]["answers"]


def test_an_unknown_question_is_a_400_naming_it(student_api, quiz_content):
    attempt_id = start(student_api, quiz_content).json()["id"]
    response = submit(student_api, attempt_id, {"424242": 1})
    assert response.status_code == 400
    assert "424242" in response.json()["message"]


def test_answers_that_are_not_an_object_are_a_400(student_api, quiz_content):
    attempt_id = start(student_api, quiz_content).json()["id"]
    assert submit(student_api, attempt_id, [1, 2]).status_code == 400


def test_a_submission_after_the_deadline_is_a_409(student_api, quiz_content):
    attempt_id = start(student_api, quiz_content).json()["id"]
    Attempt.objects.update(deadline=timezone.now() - timedelta(seconds=31))
    response = submit(student_api, attempt_id, {})
    assert response.status_code == 409
    assert response.json()["message"] == str(ATTEMPT_EXPIRED)


def test_starting_with_no_attempt_left_is_a_409(student_api, quiz_content, quiz):
    quiz.attempts_allowed = 1
    quiz.save()
    submit(student_api, start(student_api, quiz_content).json()["id"], {})
    response = start(student_api, quiz_content)
    assert response.status_code == 409
    assert response.json()["message"] == str(ATTEMPTS_USED_UP)


def test_students_list_only_their_own_attempts(student_api, quiz_content):
    start(student_api, quiz_content)
    other = UserFactory()
    EnrollmentFactory(student=other, course=quiz_content.module.course)
    start(logged_in(other), quiz_content)
    attempts = student_api.get(f"/api/contents/{quiz_content.pk}/attempts/").json()
    assert len(attempts) == 1


def test_another_students_attempt_cannot_be_submitted(student_api, quiz_content):
    attempt_id = start(student_api, quiz_content).json()["id"]
    other = UserFactory()
    EnrollmentFactory(student=other, course=quiz_content.module.course)
    assert submit(logged_in(other), attempt_id, {}).status_code == 404


def test_an_open_attempt_shows_no_answers(student_api, quiz_content):
    body = start(student_api, quiz_content).json()
    assert "correct" not in str(body) and "accepted_answers" not in str(body)


def test_the_owner_creates_a_quiz_with_questions(module):
    client = logged_in(module.course.owner)
    response = client.post(
        f"/api/modules/{module.pk}/contents/",
        {
            "kind": "quiz",
            "title": "Check",
            "pass_mark": 80,
            "questions": [
                {"kind": "true_false", "text": "Sky is blue.", "correct_boolean": True},
                {
                    "kind": "single",
                    "text": "Pick",
                    "options": [{"text": "A", "correct": True}, {"text": "B"}],
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    quiz = Quiz.objects.get()
    assert [q.kind for q in quiz.questions.all()] == ["true_false", "single"]
    assert quiz.questions.last().options[1] == {"id": 2, "text": "B", "correct": False}


def test_a_question_without_its_answer_is_a_400(module):
    client = logged_in(module.course.owner)
    response = client.post(
        f"/api/modules/{module.pk}/contents/",
        {"kind": "quiz", "title": "Q", "questions": [{"kind": "numeric", "text": "How many?"}]},
        format="json",
    )
    assert response.status_code == 400
    assert not Content.objects.exists()


def test_the_owner_replaces_the_questions(quiz_content):
    client = logged_in(quiz_content.module.course.owner)
    response = client.patch(
        f"/api/contents/{quiz_content.pk}/",
        {"questions": [{"kind": "text", "text": "Name?", "accepted_answers": ["Ada"]}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [q["text"] for q in response.json()["questions"]] == ["Name?"]


def test_marking_a_quiz_done_through_the_api_is_a_400(student_api, quiz_content):
    response = student_api.post(f"/api/contents/{quiz_content.pk}/done/")
    assert response.status_code == 400
    assert "cannot be marked by hand" in response.json()["message"]
    assert not ContentCompletion.objects.exists()


# Query budgets, the same whatever the number of questions. The test database wraps each test
# in a transaction, so the service's outer transaction is counted as a savepoint pair here; the
# client is authenticated without a query (an API token costs one more).
START_NEW_QUERIES = 9
START_AGAIN_QUERIES = 6
SUBMIT_PASS_QUERIES = 12
SUBMIT_PASS_COMPLETING_COURSE_QUERIES = 18
SUBMIT_AGAIN_QUERIES = 4


@pytest.mark.parametrize("extra_questions", [0, 20])
def test_a_passing_submit_that_completes_the_course_has_a_fixed_query_budget(
    student_api, quiz_content, quiz, django_assert_max_num_queries, extra_questions
):
    QuestionFactory.create_batch(extra_questions, quiz=quiz)
    attempt_id = start(student_api, quiz_content).json()["id"]
    answers = right_answers(Attempt.objects.get())
    with django_assert_max_num_queries(SUBMIT_PASS_COMPLETING_COURSE_QUERIES):
        assert submit(student_api, attempt_id, answers).json()["passed"] is True
    assert CourseCompletion.objects.count() == 1


def test_a_passing_submit_in_a_course_with_more_to_do_has_a_fixed_query_budget(
    student_api, quiz_content, django_assert_max_num_queries
):
    ContentFactory(module=quiz_content.module)
    attempt_id = start(student_api, quiz_content).json()["id"]
    answers = right_answers(Attempt.objects.get())
    with django_assert_max_num_queries(SUBMIT_PASS_QUERIES):
        assert submit(student_api, attempt_id, answers).json()["passed"] is True
    assert ContentCompletion.objects.count() == 1
    assert not CourseCompletion.objects.exists()


def test_submitting_a_graded_attempt_again_costs_few_queries(
    student_api, quiz_content, django_assert_max_num_queries
):
    attempt_id = start(student_api, quiz_content).json()["id"]
    submit(student_api, attempt_id, {})
    with django_assert_max_num_queries(SUBMIT_AGAIN_QUERIES):
        assert submit(student_api, attempt_id, {}).status_code == 200


@pytest.mark.parametrize("extra_questions", [0, 20])
def test_starting_an_attempt_has_a_fixed_query_budget(
    student_api, quiz_content, quiz, django_assert_max_num_queries, extra_questions
):
    QuestionFactory.create_batch(extra_questions, quiz=quiz)
    with django_assert_max_num_queries(START_NEW_QUERIES):
        assert start(student_api, quiz_content).status_code == 201
    with django_assert_max_num_queries(START_AGAIN_QUERIES):
        assert start(student_api, quiz_content).status_code == 201
