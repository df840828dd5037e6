"""`make run` works on SQLite: every migration applies there, the demo data loads, the demo
student holding a certificate can open their courses (SQLite reads raw datetimes and uuids as
text), and the chat's writer stores its batches (its statements have a SQLite form)."""

import os

import pytest

from tests.commands import manage

# The demo's student2 holds a certificate, so is enrolled in that course.
DEMO_MEMBERS = (
    "from students.models import Certificate; "
    "certificate = Certificate.objects.select_related('course__owner', 'student')"
    ".get(student__username='student2'); "
    "course, student, owner = certificate.course, certificate.student, certificate.course.owner; "
)


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory):
    """The demo site on a SQLite database of its own, migrated and loaded once."""
    folder = tmp_path_factory.mktemp("sqlite")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "educa.settings.local",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(folder / "media"),
    }
    manage(env, "migrate", "--no-input")
    manage(env, "loaddemo")
    return env


def test_the_demo_student_opens_their_courses_on_sqlite(sqlite_env):
    pages = DEMO_MEMBERS + (
        "from django.test import Client; c = Client(); c.force_login(student); "
        "paths = ['/students/courses/', f'/students/course/{course.pk}/']; "
        "codes = [c.get(path, HTTP_HOST='127.0.0.1').status_code for path in paths]; "
        "assert codes == [200, 200], codes"
    )
    manage(sqlite_env, "shell", "-c", pages)


def test_the_chat_writer_stores_messages_mentions_resends_and_reactions_on_sqlite(sqlite_env):
    batches = DEMO_MEMBERS + (
        "from chat.models import Mention, Reaction; "
        "from chat.services import MessageDraft, ReactionDraft, room_changes_store; "
        "[(first, created), (second, _)] = room_changes_store(["
        " MessageDraft(author=student, course_id=course.pk, text=f'hi @{owner.username}',"
        "  client_id='a'),"
        " MessageDraft(author=owner, course_id=course.pk, text='hello', client_id='b')], [])[0]; "
        "[(again, created_again)] = room_changes_store("
        " [MessageDraft(author=student, course_id=course.pk, text='hi', client_id='a')], [])[0]; "
        "[reacted] = room_changes_store([], [ReactionDraft("
        " actor=owner, course_id=course.pk, message_id=first.pk, emoji='👍')])[1]; "
        "assert (created, created_again, again.pk) == (True, False, first.pk); "
        "assert (first.seq, second.seq, second.pk > first.pk) == (1, 2, True); "
        "assert Mention.objects.filter(message=first, user=owner).exists(); "
        "assert reacted.reactions == [['👍', [owner.username]]], reacted.reactions; "
        "assert Reaction.objects.filter(message=first, user=owner, emoji='👍').exists()"
    )
    manage(sqlite_env, "shell", "-c", batches)
