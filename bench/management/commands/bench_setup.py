import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client

from courses.models import Course, Question, Quiz, Subject, Text, Video
from courses.services import (
    content_create,
    instructor_promote,
    module_create,
    quiz_save_with_questions,
)
from quizzes.models import Attempt
from students.services import enrollment_create, token_issue

User = get_user_model()

BENCH_TEXT = (
    "## What this part covers\n\nA paragraph of **Markdown** with a [link](https://example.com) "
    "and a list:\n\n- one point\n- another point\n- a third one\n"
)
BENCH_VIDEO_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
# One question of every kind; bench/quiz_load.py answers them all right (BENCH_QUIZ_ANSWERS).
BENCH_QUESTIONS = [
    {"kind": Question.Kind.SINGLE, "text": "Which planet is largest?", "options": [
        {"id": 1, "text": "Jupiter", "correct": True}, {"id": 2, "text": "Mars", "correct": False},
    ]},
    {"kind": Question.Kind.MULTIPLE, "text": "Which are prime?", "options": [
        {"id": 1, "text": "2", "correct": True}, {"id": 2, "text": "3", "correct": True},
        {"id": 3, "text": "4", "correct": False},
    ]},
    {"kind": Question.Kind.TRUE_FALSE, "text": "Water boils at 100 °C at sea level.",
     "correct_boolean": True},
    {"kind": Question.Kind.NUMERIC, "text": "How many minutes in an hour?",
     "numeric_answer": 60.0, "tolerance": 0.0},
    {"kind": Question.Kind.TEXT, "text": "The chemical symbol of gold?",
     "accepted_answers": ["Au"]},
]  # fmt: skip


def _user(username: str):
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def course_outline_create(course: Course, *, modules: int, contents: int) -> list[int]:
    """The course's module ids, after giving a course without modules `modules` x `contents`."""
    if not course.modules.exists():
        for number in range(1, modules + 1):
            module = module_create(course=course, title=f"Module {number}")
            for index in range(1, contents + 1):
                item = (
                    Video(title=f"Video {number}.{index}", url=BENCH_VIDEO_URL)
                    if index % 3 == 0
                    else Text(title=f"Part {number}.{index}", content=BENCH_TEXT)
                )
                content_create(module=module, item=item)
    return list(course.modules.order_by("order", "pk").values_list("pk", flat=True))


def quiz_add_to_modules(course: Course) -> list[int]:
    """The content ids of the course's benchmark quizzes, after giving every module without a
    quiz one (last) with BENCH_QUESTIONS and unlimited attempts."""
    quiz_ids = []
    for module in course.modules.order_by("order", "pk"):
        content = next((c for c in module.contents.order_by("order") if c.kind == "quiz"), None)
        if content is None:
            quiz = Quiz(title=f"Check of {module.title}", pass_mark=50)
            content = quiz_save_with_questions(
                module=module, content=None, quiz=quiz, questions=BENCH_QUESTIONS
            )
        quiz_ids.append(content.pk)
    return quiz_ids


def session_key_create(user) -> str:
    """A fresh logged-in session of `user`, as a browser would hold after logging in."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class Command(BaseCommand):
    help = (
        "Creates (idempotently) the benchmark data: N published chat rooms (courses of one bench "
        "instructor, optionally with modules of text and video contents) x M enrolled students "
        "with API tokens, and writes them to a JSON file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rooms", type=int, default=4)
        parser.add_argument("--students", type=int, default=25, help="Students per room.")
        parser.add_argument("--modules", type=int, default=0, help="Modules per new course.")
        parser.add_argument("--contents", type=int, default=0, help="Contents per new module.")
        parser.add_argument(
            "--sessions",
            action="store_true",
            help="Also log every student in and write their session keys (new ones each run).",
        )
        parser.add_argument(
            "--quiz",
            action="store_true",
            help="Give every module a quiz (one question of each kind) and delete the room's "
            "students' attempts at it, so that each run starts from none.",
        )
        parser.add_argument("--out", required=True, help="Path of the JSON file to write.")

    @transaction.atomic
    def handle(self, *args, rooms, students, modules, contents, sessions, quiz, out, **options):
        if rooms < 1 or students < 1:
            raise CommandError("--rooms and --students must be 1 or more.")
        if modules < 0 or contents < 0:
            raise CommandError("--modules and --contents must be 0 or more.")
        instructor = _user("bench-instructor")
        instructor_promote(user=instructor)
        subject, _ = Subject.objects.get_or_create(slug="bench", defaults={"title": "Benchmark"})
        result = {"instructor": instructor.username, "rooms": []}
        if sessions:
            result["session_cookie"] = settings.SESSION_COOKIE_NAME
        for room in range(1, rooms + 1):
            course, _ = Course.objects.update_or_create(
                slug=f"bench-room-{room}",
                defaults={
                    "owner": instructor,
                    "subject": subject,
                    "title": f"Benchmark room {room}",
                    "overview": "Created by manage.py bench_setup.",
                    "status": Course.Status.PUBLISHED,
                },
            )
            module_ids = course_outline_create(course, modules=modules, contents=contents)
            quiz_ids = quiz_add_to_modules(course) if quiz else []
            members = []
            for number in range(1, students + 1):
                student = _user(f"bench-r{room}-s{number}")
                enrollment_create(student=student, course=course)
                member = {"username": student.username, "token": token_issue(user=student).key}
                if sessions:
                    member["session"] = session_key_create(student)
                members.append(member)
            result["rooms"].append(
                {
                    "course_id": course.pk,
                    "slug": course.slug,
                    "module_ids": module_ids,
                    "quiz_ids": quiz_ids,
                    "members": members,
                }
            )
            if quiz_ids:
                usernames = [member["username"] for member in members]
                Attempt.objects.filter(
                    content_id__in=quiz_ids, student__username__in=usernames
                ).delete()
        Path(out).write_text(json.dumps(result, indent=2))
        self.stdout.write(
            self.style.SUCCESS(f"{rooms} room(s) x {students} student(s) written to {out}.")
        )
