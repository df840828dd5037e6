"""Deleting a content, module or course leaves no orphan rows and no orphan files."""

import pytest
from django.db import transaction

from courses import services
from courses.models import Content, Course, File, Image, Module, Text, Video
from students.models import ContentCompletion, Enrollment
from tests.factories import (
    ContentCompletionFactory,
    EnrollmentFactory,
    ModuleFactory,
    UserFactory,
)

from .uploads import files_on_disk, png_upload, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_course(media_root, course, django_capture_on_commit_callbacks):
    """A course with two modules holding one content of each kind, files on disk."""
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            module = ModuleFactory(course=course)
            for item in (
                Text(title="Text", content="Hello"),
                Video(title="Video", url="https://youtu.be/dQw4w9WgXcQ"),
                Image(title="Image", file=png_upload()),
                File(title="File", file=upload("notes.txt", b"notes")),
            ):
                services.content_create(module=module, item=item)
    assert len(files_on_disk(media_root)) == 4
    return course


def item_count() -> int:
    return sum(model.objects.count() for model in (Text, Video, Image, File))


def test_deleting_a_course_deletes_every_row_under_it(
    full_course, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.course_delete(course=full_course)

    assert (Module.objects.count(), Content.objects.count(), item_count()) == (0, 0, 0)


def test_deleting_a_course_deletes_its_files(
    full_course, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.course_delete(course=full_course)

    assert files_on_disk(media_root) == []


def test_deleting_a_course_ends_its_enrollments_and_progress(
    full_course, django_capture_on_commit_callbacks
):
    content = Content.objects.filter(module__course=full_course).first()
    enrollment = EnrollmentFactory(course=full_course, last_module=content.module)
    ContentCompletionFactory(student=enrollment.student, content=content)

    with django_capture_on_commit_callbacks(execute=True):
        services.course_delete(course=full_course)

    assert (Enrollment.objects.count(), ContentCompletion.objects.count()) == (0, 0)


def test_deleting_a_course_keeps_its_students_accounts(full_course):
    student = EnrollmentFactory(course=full_course).student

    services.course_delete(course=full_course)

    assert type(student).objects.filter(pk=student.pk).exists()


def test_deleting_a_module_deletes_its_contents_items_and_files(
    full_course, media_root, django_capture_on_commit_callbacks
):
    module = full_course.modules.first()

    with django_capture_on_commit_callbacks(execute=True):
        services.module_delete(module=module)

    assert (Content.objects.count(), item_count(), len(files_on_disk(media_root))) == (4, 4, 2)


def test_deleting_a_module_someone_resumes_from_keeps_their_enrollment(full_course):
    module = full_course.modules.first()
    enrollment = EnrollmentFactory(course=full_course, last_module=module)

    services.module_delete(module=module)

    enrollment.refresh_from_db()
    assert enrollment.last_module is None


def test_deleting_an_image_content_deletes_its_item_and_file(
    full_course, media_root, django_capture_on_commit_callbacks
):
    content = Content.objects.filter(content_type__model="image").first()
    name = content.item.file.name

    with django_capture_on_commit_callbacks(execute=True):
        services.content_delete(content=content)

    assert not Image.objects.filter(pk=content.object_id).exists()
    assert not (media_root / name).exists()


def test_a_rolled_back_deletion_keeps_the_file(
    full_course, media_root, django_capture_on_commit_callbacks
):
    content = Content.objects.filter(content_type__model="file").first()

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.content_delete(content=content)
        raise RuntimeError("something later fails")

    assert (media_root / content.item.file.name).exists()


def test_deleting_an_item_directly_deletes_the_content_showing_it(full_course):
    text = Text.objects.first()

    text.delete()

    assert not Content.objects.filter(content_type__model="text", object_id=text.pk).exists()


def test_deleting_the_owner_deletes_their_courses_and_files(
    full_course, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        full_course.owner.delete()

    assert (Course.objects.count(), item_count(), files_on_disk(media_root)) == (0, 0, [])


def test_deleting_a_student_keeps_the_course(full_course):
    student = UserFactory()
    EnrollmentFactory(course=full_course, student=student)

    student.delete()

    assert Course.objects.filter(pk=full_course.pk).exists()
