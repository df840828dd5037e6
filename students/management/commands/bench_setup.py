import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.models import Course, Subject
from courses.services import instructor_promote
from students.services import enrollment_create, token_issue

User = get_user_model()


def _user(username: str):
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = (
        "Creates (idempotently) the benchmark data: N published chat rooms (courses of one bench "
        "instructor) x M enrolled students with API tokens, and writes them to a JSON file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rooms", type=int, default=4)
        parser.add_argument("--students", type=int, default=25, help="Students per room.")
        parser.add_argument("--out", required=True, help="Path of the JSON file to write.")

    @transaction.atomic
    def handle(self, *args, rooms, students, out, **options):
        if rooms < 1 or students < 1:
            raise CommandError("--rooms and --students must be 1 or more.")
        instructor = _user("bench-instructor")
        instructor_promote(user=instructor)
        subject, _ = Subject.objects.get_or_create(slug="bench", defaults={"title": "Benchmark"})
        result = {"instructor": instructor.username, "rooms": []}
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
            members = []
            for number in range(1, students + 1):
                student = _user(f"bench-r{room}-s{number}")
                enrollment_create(student=student, course=course)
                members.append(
                    {"username": student.username, "token": token_issue(user=student).key}
                )
            result["rooms"].append(
                {"course_id": course.pk, "slug": course.slug, "members": members}
            )
        Path(out).write_text(json.dumps(result, indent=2))
        self.stdout.write(
            self.style.SUCCESS(f"{rooms} room(s) x {students} student(s) written to {out}.")
        )
