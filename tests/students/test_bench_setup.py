import json

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from courses.models import Course
from students.models import Enrollment

pytestmark = pytest.mark.django_db


def _setup(tmp_path, rooms=2, students=3):
    out = tmp_path / "bench.json"
    call_command("bench_setup", rooms=rooms, students=students, out=str(out), stdout=None)
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
