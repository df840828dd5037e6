"""A course world whose every user-written text is an XSS payload, and samples for every URL."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from courses import services
from courses.models import Course, File, Image, Text, Video
from students.models import ContentCompletion, Enrollment
from tests.courses.uploads import png_upload, upload
from tests.factories import SubjectFactory, UserFactory


def payload(field: str) -> str:
    """Breaks out of text, attributes and quotes alike; sets window.__xss if it ever runs."""
    return f'"><script>window.__xss="{field}"</script><img src=x onerror=window.__xss="{field}">\''


MARKDOWN = """# A harmless heading

<script>window.__xss="markdown-script"</script>

<img src="x" onerror="window.__xss='markdown-img'">

[a link](javascript:window.__xss='markdown-link')

<a href="#" onclick="window.__xss='markdown-onclick'">an anchor</a>

<iframe src="javascript:window.__xss='markdown-iframe'"></iframe>

<p style="background:url(javascript:window.__xss='markdown-style')">styled</p>
"""


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def hostile_world(db, media_root):
    """An instructor (superuser too), a published course and an enrolled student, all of whose
    texts are payloads."""
    owner = UserFactory(
        username="owner",
        first_name=payload("owner-first-name"),
        last_name=payload("owner-last-name"),
        is_staff=True,
        is_superuser=True,
    )
    owner.groups.add(Group.objects.get(name="Instructors"))
    subject = SubjectFactory(title=payload("subject-title"), slug="hostile")
    course = services.course_create(
        owner=owner,
        subject=subject,
        title=payload("course-title"),
        overview=payload("course-overview"),
        slug="hostile-course",
    )
    module = services.module_create(
        course=course, title=payload("module-title"), description=payload("module-description")
    )
    text = Text(owner=owner, title=payload("text-title"), content=MARKDOWN)
    text_content = services.content_create(module=module, item=text)
    video = Video(owner=owner, title=payload("video-title"), url="https://youtu.be/dQw4w9WgXcQ")
    services.content_create(module=module, item=video)
    image = Image(owner=owner, title=payload("image-title"), file=png_upload())
    image_content = services.content_create(module=module, item=image)
    file = File(owner=owner, title=payload("file-title"), file=upload("notes.txt", b"notes"))
    services.content_create(module=module, item=file)
    services.course_publish(course=course)

    student = UserFactory(
        username="student",
        first_name=payload("student-first-name"),
        last_name=payload("student-last-name"),
    )
    Enrollment.objects.create(student=student, course=course, last_module=module)
    ContentCompletion.objects.create(student=student, content=text_content)
    return SimpleNamespace(
        owner=owner,
        student=student,
        subject=subject,
        course=Course.objects.get(pk=course.pk),
        module=module,
        text=text,
        text_content=text_content,
        image_content=image_content,
    )


@pytest.fixture
def url_samples(hostile_world):
    """A value for every URL parameter of the project (tests/security/routes.py)."""
    world = hostile_world
    return {
        "pk": world.course.pk,
        "course_id": world.course.pk,
        "slug": world.course.slug,
        "subject": world.subject.slug,
        "code": "es",
        "module_id": world.module.pk,
        "model_name": "text",
        "id": world.text_content.pk,
        "content_id": world.text_content.pk,
        # No certificate has it: the walks check what comes before the certificate is read.
        "certificate_id": "00000000-0000-4000-8000-000000000000",
        # No attempt has it: the walks check what comes before the attempt is read.
        "attempt_id": 2**62,
        "uidb64": "MQ",
        "token": "set-password",
        "app_label": "courses",
        "object_id": world.course.pk,
        "content_type_id": ContentType.objects.get_for_model(Course).pk,
        "url": "no-such-page/",
        "path": "no-such-endpoint/",
        # module_content_update takes the item's id, not the content's.
        "module_content_update": {"id": world.text.pk},
    }
