import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client

from courses.models import Course, Subject, Text, Video
from courses.services import content_create, instructor_promote, module_create
from students.services import enrollment_create, token_issue

User = get_user_model()

BENCH_TEXT = (
    "## What this part covers\n\nA paragraph of **Markdown** with a [link](https://example.com) "
    "and a list:\n\n- one point\n- another point\n- a third one\n"
)
BENCH_VIDEO_URL = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


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
        parser.add_argument("--out", required=True, help="Path of the JSON file to write.")

    @transaction.atomic
    def handle(self, *args, rooms, students, modules, contents, sessions, out, **options):
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
                    "members": members,
                }
            )
        Path(out).write_text(json.dumps(result, indent=2))
        self.stdout.write(
            self.style.SUCCESS(f"{rooms} room(s) x {students} student(s) written to {out}.")
        )
