import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from courses.models import Subject
from courses.services import course_create, course_publish, instructor_promote
from quizzes.services import attempt_start, attempt_submit
from students.services import content_completion_create, enrollment_create

from .bench_setup import course_outline_create, quiz_add_to_modules

User = get_user_model()

# (courses, modules per course, contents per module). Contents come in two kinds (text, and a
# video every third), each kind one query when a module's contents are read: both sizes have both.
# Every module also ends with a quiz, which the student has tried once.
SIZES = {"few": (1, 1, 3), "many": (12, 6, 6)}
# The benchmarked pages (bench/run.py), on the first course and its last module.
PAGES = {
    "catalogue /": ("/", False),
    "course page": ("/course/{slug}/", False),
    "API /api/courses/": ("/api/courses/", False),
    "study view": ("/students/course/{course_id}/{module_id}/", True),
}
# A cache of the command's own: pages built from data that is rolled back must not reach the
# servers' cache under versions the database will hand out again.
PRIVATE_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench"},
}


def _course_data(*, courses: int, modules: int, contents: int) -> dict:
    """Published courses with their outlines (a quiz in every module) and one enrolled student
    who has done a content and submitted an attempt at the shown module's quiz."""
    instructor, _ = User.objects.get_or_create(username="bench-queries-instructor")
    instructor_promote(user=instructor)
    subject, _ = Subject.objects.get_or_create(slug="bench", defaults={"title": "Benchmark"})
    student, _ = User.objects.get_or_create(username="bench-queries-student")
    created = []
    for number in range(1, courses + 1):
        course = course_create(
            owner=instructor,
            subject=subject,
            title=f"Query count course {number}",
            overview="Created by manage.py bench_queries, then rolled back.",
        )
        course_outline_create(course, modules=modules, contents=contents)
        quiz_add_to_modules(course)
        created.append(course_publish(course=course))
    course = created[0]
    enrollment_create(student=student, course=course)
    module = course.modules.order_by("order", "pk").last()
    contents = list(module.contents.order_by("order", "pk"))
    content_completion_create(student=student, content=contents[0])
    attempt = attempt_start(student=student, content=contents[-1])
    attempt_submit(attempt=attempt, answers={})
    return {"course": course, "module": module, "student": student}


def _queries(client: Client, url: str) -> dict[str, int]:
    """Queries of a first request (nothing cached) and of the same request repeated."""
    counts = {}
    for attempt in ("first", "repeat"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        counts[attempt] = len(captured.captured_queries)
    return counts


class Command(BaseCommand):
    help = (
        "Counts the SQL queries of each benchmarked page with few and with many courses, "
        "modules and contents (created in a transaction that is rolled back) and writes them "
        "to a JSON file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Path of the JSON file to write.")

    def handle(self, *args, out, **options):
        report = {"sizes": {}, "pages": {name: {} for name in PAGES}}
        for size, (courses, modules, contents) in SIZES.items():
            report["sizes"][size] = {"courses": courses, "modules": modules, "contents": contents}
            for name, counts in self._count(courses, modules, contents).items():
                report["pages"][name][size] = counts
        Path(out).write_text(json.dumps(report, indent=2))
        self.stdout.write(self.style.SUCCESS(f"Query counts written to {out}."))

    @staticmethod
    def _count(courses: int, modules: int, contents: int) -> dict[str, dict[str, int]]:
        with (
            override_settings(CACHES=PRIVATE_CACHES, ALLOWED_HOSTS=["testserver"]),
            transaction.atomic(),
        ):
            data = _course_data(courses=courses, modules=modules, contents=contents)
            anonymous, student = Client(), Client()
            student.force_login(data["student"])
            course, module = data["course"], data["module"]
            counts = {}
            for name, (path, logged_in) in PAGES.items():
                url = path.format(slug=course.slug, course_id=course.pk, module_id=module.pk)
                counts[name] = _queries(student if logged_in else anonymous, url)
            transaction.set_rollback(True)
        return counts
