import io
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageDraw

from courses import services
from courses.models import Content, Course, File, Image, Quiz, Subject, Text, Video
from students.models import Enrollment
from students.services import (
    content_completion_create,
    enrollment_create,
    student_has_full_name,
    student_name_set,
)

SUBJECTS_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "subjects.json"
DEMO_PASSWORD = "educa-demo"  # noqa: S105 - printed for local log-ins; refused in production
INSTRUCTOR = "instructor"
STUDENTS = ("student1", "student2")


def _png_circle() -> bytes:
    image = PILImage.new("RGB", (320, 200), "#f7f8fa")
    draw = ImageDraw.Draw(image)
    draw.ellipse((110, 50, 210, 150), fill="#0b6bcb")
    draw.rectangle((20, 60, 90, 140), fill="#2e7d32")
    draw.polygon([(240, 150), (300, 150), (270, 50)], fill="#c62828")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


UNITS_TEXT = b"""SI base units
second    s    time
metre     m    length
kilogram  kg   mass
ampere    A    electric current
kelvin    K    temperature
mole      mol  amount of substance
candela   cd   luminous intensity
"""

# slug: (subject slug, title, overview, [(module title, [item factory, ...]), ...])
DEMO_COURSES = {
    "demo-writing-with-markdown": (
        "programming",
        "Writing with Markdown",
        "Plain text that turns into tidy web pages: the syntax every developer meets.",
        [
            (
                "Emphasis and lists",
                [
                    lambda: Text(
                        title="Emphasis",
                        content="Wrap words in `*` for *italic* and `**` for **bold**.",
                    ),
                    lambda: Text(
                        title="Lists",
                        content="- one item\n- another item\n\n1. first\n2. second",
                    ),
                ],
            ),
            (
                "Code and tables",
                [
                    lambda: Text(
                        title="Code",
                        content="Fence code with three backticks:\n\n```\nprint('hello')\n```",
                    ),
                    lambda: Text(
                        title="Tables",
                        content="| Unit | Symbol |\n|------|--------|\n| metre | m |",
                    ),
                ],
            ),
        ],
    ),
    "demo-listening-to-music": (
        "music",
        "Listening to music",
        "Short videos to train your ear.",
        [
            (
                "Watching",
                [
                    lambda: Video(
                        title="A first video", url="https://www.youtube.com/watch?v=jNQXAC9IVRw"
                    ),
                    lambda: Video(title="On Vimeo", url="https://vimeo.com/76979871"),
                ],
            )
        ],
    ),
    "demo-shapes-and-colours": (
        "mathematics",
        "Shapes and colours",
        "Circles, squares and triangles, drawn and named.",
        [
            (
                "Basic shapes",
                [
                    lambda: Image(
                        title="Three shapes", file=ContentFile(_png_circle(), name="shapes.png")
                    ),
                    lambda: Text(title="Naming them", content="A circle, a square, a triangle."),
                ],
            )
        ],
    ),
    "demo-units-and-measures": (
        "physics",
        "Units and measures",
        "The seven SI base units, and a table to keep.",
        [
            (
                "The SI",
                [
                    lambda: Text(
                        title="Why units", content="A number without a unit is no measure."
                    ),
                    lambda: File(
                        title="SI base units", file=ContentFile(UNITS_TEXT, name="si-units.txt")
                    ),
                    lambda: (
                        Quiz(
                            title="Check your units",
                            instructions="One question of each kind. You need **60 %** to pass.",
                            pass_mark=60,
                            attempts_allowed=3,
                            answers_shown=Quiz.AnswersShown.AFTER_LAST,
                            shuffle_options=True,
                        ),
                        UNITS_QUESTIONS,
                    ),
                ],
            )
        ],
    ),
}
# One question of each kind, as courses.services.quiz_save_with_questions takes them.
UNITS_QUESTIONS = [
    {
        "kind": "single",
        "text": "Which is the SI base unit of mass?",
        "options": [
            {"id": 1, "text": "The gram", "correct": False},
            {"id": 2, "text": "The kilogram", "correct": True},
            {"id": 3, "text": "The pound", "correct": False},
        ],
        "feedback": "The kilogram is the only base unit with a prefix in its name.",
    },
    {
        "kind": "multiple",
        "text": "Which of these are SI base units?",
        "points": 2,
        "partial_credit": True,
        "options": [
            {"id": 1, "text": "The metre", "correct": True},
            {"id": 2, "text": "The candela", "correct": True},
            {"id": 3, "text": "The litre", "correct": False},
            {"id": 4, "text": "The newton", "correct": False},
        ],
    },
    {
        "kind": "true_false",
        "text": "The kelvin measures temperature.",
        "correct_boolean": True,
    },
    {
        "kind": "numeric",
        "text": "How many SI base units are there?",
        "numeric_answer": 7,
        "tolerance": 0,
    },
    {
        "kind": "text",
        "text": "Which base unit measures electric current?",
        "accepted_answers": ["ampere", "amp", "A"],
    },
]
ENROLLED = ("student1", "demo-writing-with-markdown")
# (student, course slug, the name their certificate prints): a course done, a certificate issued.
COMPLETED = ("student2", "demo-shapes-and-colours", ("Grace", "Hopper"))


class Command(BaseCommand):
    help = "Load the demo subjects, users and courses; running it again changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even with DEBUG off (the demo accounts have a published password).",
        )

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: the demo accounts would have a known password. Use --force."
            )
        with transaction.atomic():
            self._subjects()
            instructor = self._user(INSTRUCTOR)
            services.instructor_promote(user=instructor)
            students = {name: self._user(name) for name in STUDENTS}
            for slug, course in DEMO_COURSES.items():
                self._course(instructor, slug, *course)
            Enrollment.objects.get_or_create(
                student=students[ENROLLED[0]], course=Course.objects.get(slug=ENROLLED[1])
            )
            self._complete(students[COMPLETED[0]], Course.objects.get(slug=COMPLETED[1]))
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        self.stdout.write(f"  instructor (CMS):  {INSTRUCTOR} / {DEMO_PASSWORD}")
        for name in STUDENTS:
            self.stdout.write(f"  student:           {name} / {DEMO_PASSWORD}")
        self.stdout.write(f"{COMPLETED[0]} has completed a course and has its certificate.")

    def _subjects(self):
        for row in json.loads(SUBJECTS_FIXTURE.read_text()):
            fields = row["fields"]
            Subject.objects.get_or_create(slug=fields["slug"], defaults={"title": fields["title"]})

    def _user(self, username):
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _complete(self, student, course):
        """Enroll the student and mark every content done, as the study view would."""
        if not student_has_full_name(student):
            first_name, last_name = COMPLETED[2]
            student_name_set(student=student, first_name=first_name, last_name=last_name)
        enrollment_create(student=student, course=course)
        for content in Content.objects.filter(module__course=course):
            content_completion_create(student=student, content=content)

    def _course(self, instructor, slug, subject_slug, title, overview, modules):
        if Course.objects.filter(slug=slug).exists():
            return
        course = services.course_create(
            owner=instructor,
            subject=Subject.objects.get(slug=subject_slug),
            title=title,
            overview=overview,
            slug=slug,
        )
        for module_title, items in modules:
            module = services.module_create(course=course, title=module_title)
            for make_item in items:
                item = make_item()
                if isinstance(item, tuple):  # a quiz and its questions
                    quiz, questions = item
                    services.quiz_save_with_questions(
                        module=module, content=None, quiz=quiz, questions=questions
                    )
                else:
                    services.content_create(module=module, item=item)
        services.course_publish(course=course)
