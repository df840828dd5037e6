"""The guarded file view: course files and images only for the owner and enrolled students."""

import pytest
from django.urls import reverse

from courses import services
from courses.models import Course, File, Image, Text
from tests.factories import EnrollmentFactory, InstructorFactory, UserFactory

from .uploads import image_bytes, png_upload, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def image_content(media_root, module):
    return services.content_create(module=module, item=Image(title="A map", file=png_upload()))


@pytest.fixture
def file_content(media_root, module):
    item = File(title="Lecture notes", file=upload("notes.html", b"<script>alert(1)</script>"))
    return services.content_create(module=module, item=item)


def file_url(content) -> str:
    return reverse("content_file", args=[content.pk])


def as_enrolled_student(client, content):
    enrollment = EnrollmentFactory(course=content.module.course)
    client.force_login(enrollment.student)
    return client


def test_an_enrolled_student_gets_the_image_bytes(client, image_content):
    response = as_enrolled_student(client, image_content).get(file_url(image_content))

    assert b"".join(response.streaming_content) == image_bytes()


def test_an_image_is_served_as_an_attachment_of_its_decoded_type(client, image_content):
    response = as_enrolled_student(client, image_content).get(file_url(image_content))

    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_is_served_as_an_attachment_whatever_its_name(client, file_content):
    response = as_enrolled_student(client, file_content).get(file_url(file_content))

    assert response["Content-Disposition"] == 'attachment; filename="lecture-notes.html"'
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_served_file_may_not_run_as_a_page(client, file_content):
    response = as_enrolled_student(client, file_content).get(file_url(file_content))

    assert "sandbox" in response["Content-Security-Policy"]


def test_the_owner_gets_the_file(instructor_client, file_content):
    assert instructor_client.get(file_url(file_content)).status_code == 200


def test_the_owner_gets_the_file_of_a_draft(instructor_client, file_content):
    Course.objects.filter(pk=file_content.module.course_id).update(status=Course.Status.DRAFT)

    assert instructor_client.get(file_url(file_content)).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, file_content):
    response = client.get(file_url(file_content))

    assert (response.status_code, response.url.startswith(reverse("login"))) == (302, True)


def test_a_logged_in_non_member_is_forbidden(client, file_content):
    client.force_login(UserFactory())

    assert client.get(file_url(file_content)).status_code == 403


def test_another_instructor_is_forbidden(client, file_content):
    client.force_login(InstructorFactory())

    assert client.get(file_url(file_content)).status_code == 403


def test_a_file_of_a_draft_is_not_found_for_non_members(client, file_content):
    Course.objects.filter(pk=file_content.module.course_id).update(status=Course.Status.DRAFT)
    client.force_login(UserFactory())

    assert client.get(file_url(file_content)).status_code == 404


def test_an_unknown_content_is_not_found(client):
    client.force_login(UserFactory())

    assert client.get(reverse("content_file", args=[999999])).status_code == 404


def test_a_text_content_has_no_file(instructor_client, module):
    content = services.content_create(module=module, item=Text(title="T", content="x"))

    assert instructor_client.get(file_url(content)).status_code == 404


def test_a_file_missing_from_disk_is_not_found(instructor_client, file_content):
    file_content.item.file.delete(save=False)

    assert instructor_client.get(file_url(file_content)).status_code == 404


def test_in_production_nginx_sends_the_bytes(settings, instructor_client, file_content):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"

    response = instructor_client.get(file_url(file_content))

    assert response["X-Accel-Redirect"] == f"/protected-media/{file_content.item.file.name}"
    assert response.content == b""


def test_in_production_the_headers_still_say_attachment(settings, instructor_client, file_content):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"

    response = instructor_client.get(file_url(file_content))

    assert response["Content-Disposition"].startswith("attachment")


def test_course_files_are_not_served_from_media(client, file_content):
    client.force_login(file_content.module.course.owner)

    assert client.get(f"/media/{file_content.item.file.name}").status_code == 404


def test_the_image_template_links_to_the_guarded_view(image_content):
    assert f'src="{file_url(image_content)}"' in image_content.render()


def test_the_file_template_links_to_the_guarded_view(file_content):
    assert f'href="{file_url(file_content)}"' in file_content.render()


def test_an_item_rendered_on_its_own_finds_its_link(image_content):
    item = Image.objects.get(pk=image_content.object_id)

    assert f'src="{file_url(image_content)}"' in item.render()
