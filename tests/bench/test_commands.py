import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from courses.models import Content, Course, Module, Question
from quizzes.models import Attempt
from quizzes.services import attempt_start
from students.models import Enrollment

pytestmark = pytest.mark.django_db
User = get_user_model()


def _setup(tmp_path, rooms=2, students=3, **options):
    out = tmp_path / "bench.json"
    call_command(
        "bench_setup", rooms=rooms, students=students, out=str(out), stdout=None, **options
    )
    return json.loads(out.read_text())


def test_bench_setup_writes_published_rooms_with_enrolled_token_holders(tmp_path):
    data = _setup(tmp_path)

    assert len(data["rooms"]) == 2
    for room in data["rooms"]:
        course = Course.objects.get(pk=room["course_id"])
        assert course.is_published
        assert len(room["members"]) == 3
        for member in room["members"]:
            token = Token.objects.get(key=member["token"])
            assert token.user.username == member["username"]
            assert Enrollment.objects.filter(student=token.user, course=course).exists()


def test_running_bench_setup_twice_creates_nothing_new(tmp_path):
    first = _setup(tmp_path)
    second = _setup(tmp_path)

    assert second == first
    assert Enrollment.objects.count() == 6


def test_bench_setup_gives_new_courses_modules_of_text_and_video(tmp_path):
    room = _setup(tmp_path, rooms=1, students=1, modules=2, contents=3)["rooms"][0]

    modules = Module.objects.filter(course_id=room["course_id"]).order_by("order")
    assert room["module_ids"] == [module.pk for module in modules]
    kinds = [content.kind for content in Content.objects.filter(module=modules[0])]
    assert kinds == ["text", "text", "video"]


def test_bench_setup_adds_no_modules_to_a_course_that_has_some(tmp_path):
    first = _setup(tmp_path, rooms=1, students=1, modules=2, contents=1)
    second = _setup(tmp_path, rooms=1, students=1, modules=5, contents=5)

    assert second["rooms"][0]["module_ids"] == first["rooms"][0]["module_ids"]
    assert Content.objects.count() == 2


def test_bench_setup_quiz_ends_every_module_with_a_quiz_of_every_question_kind(tmp_path):
    room = _setup(tmp_path, rooms=1, students=1, modules=2, contents=1, quiz=True)["rooms"][0]

    quizzes = [Content.objects.get(pk=pk) for pk in room["quiz_ids"]]
    assert [content.module_id for content in quizzes] == room["module_ids"]
    for content in quizzes:
        assert content.kind == "quiz"
        assert list(content.module.contents.order_by("order"))[-1] == content
        kinds = [question.kind for question in content.item.questions.all()]
        assert kinds == [kind.value for kind in Question.Kind]


def test_bench_setup_quiz_run_again_adds_no_quiz_and_clears_the_attempts(tmp_path):
    first = _setup(tmp_path, rooms=1, students=2, modules=1, contents=1, quiz=True)
    room = first["rooms"][0]
    student = User.objects.get(username=room["members"][0]["username"])
    attempt_start(student=student, content=Content.objects.get(pk=room["quiz_ids"][0]))

    second = _setup(tmp_path, rooms=1, students=2, modules=1, contents=1, quiz=True)

    assert second["rooms"][0]["quiz_ids"] == room["quiz_ids"]
    assert Content.objects.count() == 2
    assert not Attempt.objects.exists()


def test_bench_setup_sessions_log_the_students_in(tmp_path):
    data = _setup(tmp_path, rooms=1, students=2, modules=1, contents=1, sessions=True)
    room = data["rooms"][0]

    for member in room["members"]:
        client = Client()
        client.cookies[data["session_cookie"]] = member["session"]
        response = client.get(f"/students/course/{room['course_id']}/")
        assert response.status_code == 200
        assert member["username"] in response.content.decode()


def test_bench_queries_counts_the_same_queries_with_few_and_many_courses(tmp_path):
    # Every module of the counted courses has a quiz the student has tried.
    out = tmp_path / "queries.json"

    call_command("bench_queries", out=str(out), stdout=None)

    report = json.loads(out.read_text())
    assert set(report["pages"]) == {"catalogue /", "course page", "API /api/courses/", "study view"}
    for name, sizes in report["pages"].items():
        assert sizes["few"] == sizes["many"], name
        assert sizes["few"]["repeat"] >= 1, name
    assert not Course.objects.exists()
