"""Factories shared by the whole suite."""

import factory
from django.contrib.auth.models import Group, User

from courses.models import Content, Course, Module, Question, Quiz, Subject, Text
from students.models import ContentCompletion, Enrollment


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pass-word-123")


class InstructorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"instructor{n}")

    @factory.post_generation
    def instructors_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name="Instructors"))


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subject
        django_get_or_create = ("slug",)

    title = factory.Sequence(lambda n: f"Subject {n}")
    slug = factory.Sequence(lambda n: f"subject-{n}")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    owner = factory.SubFactory(InstructorFactory)
    subject = factory.SubFactory(SubjectFactory)
    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    overview = "An overview."
    status = Course.Status.PUBLISHED


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Module {n}")
    description = "A module."


class TextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Text

    owner = factory.SubFactory(InstructorFactory)
    title = factory.Sequence(lambda n: f"Text {n}")
    content = "Some *markdown*."


class ContentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Content

    module = factory.SubFactory(ModuleFactory)
    item = factory.SubFactory(TextFactory, owner=factory.SelfAttribute("..module.course.owner"))


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    student = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)


class ContentCompletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentCompletion

    student = factory.SubFactory(UserFactory)
    content = factory.SubFactory(ContentFactory)


class QuizFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quiz

    owner = factory.SubFactory(InstructorFactory)
    title = factory.Sequence(lambda n: f"Quiz {n}")
    instructions = "Answer *every* question."
    pass_mark = 50


class QuestionFactory(factory.django.DjangoModelFactory):
    """A single-choice question by default: option 1 is right, option 2 wrong."""

    class Meta:
        model = Question

    quiz = factory.SubFactory(QuizFactory)
    kind = Question.Kind.SINGLE
    text = factory.Sequence(lambda n: f"Question {n}?")
    options = factory.LazyFunction(
        lambda: [
            {"id": 1, "text": "Right", "correct": True},
            {"id": 2, "text": "Wrong", "correct": False},
        ]
    )


class QuizContentFactory(ContentFactory):
    item = factory.SubFactory(QuizFactory, owner=factory.SelfAttribute("..module.course.owner"))
