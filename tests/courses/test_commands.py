import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.http import HttpRequest

from courses.models import Content, Course, Module, Question, Quiz, Subject
from students.models import Certificate, CourseCompletion, Enrollment
from tests.factories import UserFactory

from .uploads import files_on_disk

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- make_instructor ----------------------------------------------------------------------------


def test_make_instructor_opens_the_cms_to_the_user():
    user = UserFactory(username="ada")

    run("make_instructor", "ada")

    assert User.objects.get(pk=user.pk).has_perm("courses.add_course")


def test_make_instructor_says_so_when_nothing_changes():
    UserFactory(username="ada")
    run("make_instructor", "ada")

    assert "already" in run("make_instructor", "ada")


def test_make_instructor_names_the_unknown_user():
    with pytest.raises(CommandError, match="nobody"):
        run("make_instructor", "nobody")


# --- loaddemo -----------------------------------------------------------------------------------


@pytest.fixture
def demo(settings, media_root):
    settings.DEBUG = True
    return run("loaddemo")


def snapshot(media_root):
    return {
        "users": sorted(User.objects.values_list("username", "password")),
        "subjects": sorted(Subject.objects.values_list("slug", "title")),
        "courses": sorted(Course.objects.values_list("slug", "version", "status")),
        "modules": Module.objects.count(),
        "contents": Content.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "certificates": sorted(Certificate.objects.values_list("id", "issued_at")),
        "files": files_on_disk(media_root),
    }


def test_loaddemo_loads_the_subjects_fixture(demo):
    fixture = Path(__file__).resolve().parents[2] / "courses" / "fixtures" / "subjects.json"
    slugs = {row["fields"]["slug"] for row in json.loads(fixture.read_text())}

    assert slugs <= set(Subject.objects.values_list("slug", flat=True))


def test_loaddemo_makes_an_instructor(demo):
    assert User.objects.get(username="instructor").has_perm("courses.add_course")


def test_loaddemo_makes_two_students(demo):
    students = User.objects.filter(username__in=["student1", "student2"])

    assert [s.has_perm("courses.add_course") for s in students] == [False, False]


def test_loaddemo_publishes_one_course_per_content_kind(demo):
    kinds = set(
        Content.objects.filter(module__course__status=Course.Status.PUBLISHED).values_list(
            "content_type__model", flat=True
        )
    )

    assert kinds == {"text", "video", "image", "file", "quiz"}


def test_loaddemo_adds_a_quiz_with_every_kind_of_question(demo):
    quiz = Quiz.objects.get()

    assert set(quiz.questions.values_list("kind", flat=True)) == set(Question.Kind.values)


def test_loaddemo_enrolls_a_student(demo):
    assert Enrollment.objects.filter(student__username="student1").count() == 1


def test_loaddemo_gives_a_student_a_completed_course_and_its_certificate(demo):
    certificate = Certificate.objects.get()

    assert (certificate.student.username, certificate.student_name) == ("student2", "Grace Hopper")
    assert CourseCompletion.objects.filter(
        student=certificate.student, course=certificate.course
    ).exists()


def test_loaddemo_stores_the_image_and_the_file(demo, media_root):
    assert len(files_on_disk(media_root)) == 2


def test_loaddemo_prints_the_log_ins(demo):
    assert all(name in demo for name in ("instructor", "student1", "student2", "educa-demo"))


def test_the_demo_passwords_work(demo, client):
    # django-axes checks every authentication against its request.
    assert client.login(request=HttpRequest(), username="student1", password="educa-demo")


def test_loaddemo_twice_changes_nothing(demo, media_root):
    before = snapshot(media_root)

    run("loaddemo")

    assert snapshot(media_root) == before


def test_loaddemo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        run("loaddemo")


def test_loaddemo_runs_with_debug_off_when_forced(settings, media_root):
    settings.DEBUG = False

    run("loaddemo", "--force")

    assert Course.objects.count() == 4
