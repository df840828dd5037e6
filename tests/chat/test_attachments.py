"""Chat attachments: the upload API's checks, what is stored, and who may download them."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image as PILImage
from rest_framework.authtoken.models import Token

from chat.models import Attachment
from chat.selectors import message_frame, message_list_for_room
from chat.services import (
    MessageDraft,
    attachment_create,
    attachment_name_clean,
    attachment_prune,
    message_create,
    message_create_many,
    message_delete,
)
from tests.clients import logged_in
from tests.courses.test_image_pixels import png_bomb
from tests.courses.uploads import files_on_disk, image_bytes, png_upload, upload
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def course():
    return CourseFactory()


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


@pytest.fixture
def other_student(course):
    return EnrollmentFactory(course=course).student


def post_file(user, course, name, data, content_type="application/octet-stream"):
    return logged_in(user).post(
        f"/api/courses/{course.pk}/attachments/",
        {"file": upload(name, data, content_type)},
        format="multipart",
    )


def page_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def jpeg_with_exif() -> bytes:
    exif = PILImage.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "where-i-live"  # Software
    buffer = io.BytesIO()
    PILImage.new("RGB", (640, 480), "#0b6bcb").save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def carried(author, course, *attachments, text="see this"):
    (result,) = message_create_many(
        [
            MessageDraft(
                author=author,
                course_id=course.pk,
                text=text,
                attachment_ids=tuple(a.pk for a in attachments),
            )
        ]
    )
    return result


# --- the upload -------------------------------------------------------------------------------


def test_a_member_uploads_a_file_and_gets_its_description(course, student):
    response = post_file(student, course, "notes.txt", b"some notes")

    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert response.json() == {
        "id": attachment.pk,
        "name": "notes.txt",
        "size": 10,
        "content_type": "application/octet-stream",
        "url": f"/chat/attachments/{attachment.pk}/",
        "thumbnail_url": None,
    }
    assert attachment.uploader == student
    assert attachment.message is None


def test_an_image_upload_gets_a_thumbnail_of_at_most_320_pixels(course, student):
    response = post_file(student, course, "photo.png", image_bytes("PNG", size=(1000, 500)))

    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert response.json()["content_type"] == "image/png"
    assert response.json()["thumbnail_url"] == f"/chat/attachments/{attachment.pk}/thumbnail/"
    with PILImage.open(attachment.thumbnail.open("rb")) as thumbnail:
        assert thumbnail.size == (320, 160)


def test_a_file_over_the_size_limit_is_refused_with_a_400(course, student, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 1000

    response = post_file(student, course, "big.bin", b"x" * 1001)

    assert response.status_code == 400
    assert response.json()["code"] == "file_too_large"
    assert "the limit is 1000\xa0bytes" in response.json()["errors"]["file"][0]
    assert not Attachment.objects.exists()


def test_an_empty_file_is_refused(course, student):
    response = post_file(student, course, "empty.txt", b"")

    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_an_image_over_the_pixel_limit_is_refused(course, student, settings):
    settings.UPLOAD_MAX_IMAGE_PIXELS = 100 * 100

    response = post_file(student, course, "wide.png", image_bytes("PNG", size=(101, 100)))

    assert response.status_code == 400
    assert response.json()["code"] == "image_too_large"
    assert not Attachment.objects.exists()


def test_a_decompression_bomb_is_refused_before_it_is_decoded(course, student):
    bomb = png_bomb(6300, 6300)  # 154 KB on disk, 159 MB decoded

    response = post_file(student, course, "bomb.png", bomb, "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "image_too_large"


def test_text_renamed_png_is_refused_not_served_as_an_image(course, student):
    response = post_file(student, course, "fake.png", b"<html><script>alert(1)</script>")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"
    assert not Attachment.objects.exists()


def test_an_image_is_stored_without_its_exif(course, student):
    original = jpeg_with_exif()
    assert b"SecretCam" in original

    post_file(student, course, "holiday.jpg", original, "image/jpeg")

    attachment = Attachment.objects.get()
    stored = attachment.file.open("rb").read()
    assert b"SecretCam" not in stored
    assert b"where-i-live" not in stored
    with PILImage.open(io.BytesIO(stored)) as image:
        assert not image.getexif()
        assert image.size == (640, 480)


def test_an_upload_is_stored_under_a_random_name_not_the_users(course, student, media_root):
    post_file(student, course, "../../etc/passwd", b"root:x:0:0")

    attachment = Attachment.objects.get()
    assert attachment.name == "passwd"
    assert "passwd" not in attachment.file.name
    assert all(path.is_relative_to(media_root) for path in files_on_disk(media_root))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("...hidden", "hidden"),
        ("evil\u202egpj.exe", "evilgpj.exe"),  # a right-to-left override faking ".jpg"
        ("line\nbreak\x00.txt", "linebreak.txt"),
        ("", "file"),
        ("a" * 300 + ".txt", "a" * 146 + ".txt"),
    ],
)
def test_file_names_are_cleaned(raw, clean):
    assert attachment_name_clean(raw) == clean


def test_a_non_member_cannot_upload(course):
    response = post_file(UserFactory(), course, "notes.txt", b"notes")

    assert response.status_code == 403
    assert not Attachment.objects.exists()


# --- downloads --------------------------------------------------------------------------------


def test_a_member_downloads_a_carried_file_as_an_attachment(course, student, other_student):
    attachment = attachment_create(
        uploader=student, course=course, upload=upload("notes.html", b"<script>1</script>")
    )
    carried(student, course, attachment)

    response = page_for(other_student).get(f"/chat/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>1</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="notes.html"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_member_downloads_a_file_with_an_api_token(course, student, other_student):
    attachment = attachment_create(uploader=student, course=course, upload=upload("a.txt", b"a"))
    carried(student, course, attachment)
    key = Token.objects.create(user=other_student).key

    response = Client().get(
        f"/chat/attachments/{attachment.pk}/", HTTP_AUTHORIZATION=f"Token {key}"
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a"


def test_an_unknown_token_is_refused_the_file_with_401(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=upload("a.txt", b"a"))
    carried(student, course, attachment)

    response = Client().get(
        f"/chat/attachments/{attachment.pk}/", HTTP_AUTHORIZATION="Token not-a-key"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_non_member_is_refused_the_file(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())
    carried(student, course, attachment)

    response = page_for(UserFactory()).get(f"/chat/attachments/{attachment.pk}/")

    assert response.status_code == 403


def test_an_upload_no_message_carries_is_its_uploaders_alone(course, student, other_student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())

    assert page_for(student).get(f"/chat/attachments/{attachment.pk}/").status_code == 200
    assert page_for(other_student).get(f"/chat/attachments/{attachment.pk}/").status_code == 404


def test_a_deleted_messages_attachments_are_no_longer_served(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())
    message, _ = carried(student, course, attachment)

    message_delete(actor=course.owner, course=course, message_id=message.pk)

    client = page_for(course.owner)
    assert client.get(f"/chat/attachments/{attachment.pk}/").status_code == 404
    assert client.get(f"/chat/attachments/{attachment.pk}/thumbnail/").status_code == 404


def test_the_thumbnail_is_served_as_an_image(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())
    carried(student, course, attachment)

    response = page_for(course.owner).get(f"/chat/attachments/{attachment.pk}/thumbnail/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_a_file_that_is_not_an_image_has_no_thumbnail(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=upload("a.txt", b"a"))
    carried(student, course, attachment)

    response = page_for(student).get(f"/chat/attachments/{attachment.pk}/thumbnail/")

    assert response.status_code == 404


def test_behind_nginx_the_file_is_handed_over_with_x_accel_redirect(course, student, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())
    carried(student, course, attachment)

    response = page_for(student).get(f"/chat/attachments/{attachment.pk}/")

    assert response["X-Accel-Redirect"] == f"/protected-media/{attachment.file.name}"
    assert response.content == b""


# --- messages that carry them ------------------------------------------------------------------


def test_a_message_frame_lists_its_attachments(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload("p.png"))

    message, _ = carried(student, course, attachment)

    assert message_frame(message)["attachments"] == [
        {
            "id": attachment.pk,
            "name": "p.png",
            "size": attachment.size,
            "content_type": "image/png",
            "url": f"/chat/attachments/{attachment.pk}/",
            "thumbnail_url": f"/chat/attachments/{attachment.pk}/thumbnail/",
        }
    ]
    attachment.refresh_from_db()
    assert attachment.message == message


def test_a_message_with_attachments_may_have_no_text(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())

    message, created = carried(student, course, attachment, text="  ")

    assert created
    assert message.text == ""


def test_history_reads_attachments_in_one_query_for_the_page(
    course, student, django_assert_num_queries
):
    for _ in range(3):
        attachment = attachment_create(uploader=student, course=course, upload=png_upload())
        carried(student, course, attachment)
    message_create(author=student, course=course, text="plain")

    with django_assert_num_queries(2):
        page = message_list_for_room(course_id=course.pk)
        frames = [message_frame(message) for message in page.messages]

    assert [len(frame["attachments"]) for frame in frames] == [1, 1, 1, 0]


def test_history_of_messages_without_attachments_costs_no_extra_query(
    course, student, django_assert_num_queries
):
    message_create(author=student, course=course, text="plain")

    with django_assert_num_queries(1):
        page = message_list_for_room(course_id=course.pk)
        frames = [message_frame(message) for message in page.messages]

    assert frames[0]["attachments"] == []


def test_a_deleted_messages_frame_lists_no_attachments(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())
    message, _ = carried(student, course, attachment)
    message_delete(actor=student, course=course, message_id=message.pk)

    (stored,) = message_list_for_room(course_id=course.pk).messages

    assert message_frame(stored)["attachments"] == []


def queries_of(function, *args):
    with CaptureQueriesContext(connection) as captured:
        result = function(*args)
    return len(captured), result


def test_a_batch_resolves_and_attaches_its_files_in_two_queries(course, student):
    attachments = [
        attachment_create(uploader=student, course=course, upload=png_upload()) for _ in range(3)
    ]
    message_create(author=student, course=course, text="the room exists")
    plain = [MessageDraft(author=student, course_id=course.pk, text="x") for _ in attachments]
    with_files = [
        MessageDraft(author=student, course_id=course.pk, text="x", attachment_ids=(a.pk,))
        for a in attachments
    ]

    plain_count, _ = queries_of(message_create_many, plain)
    with_files_count, results = queries_of(message_create_many, with_files)

    assert with_files_count == plain_count + 2
    assert set(Attachment.objects.values_list("message_id", flat=True)) == {
        message.pk for message, _ in results
    }


# --- pruning ----------------------------------------------------------------------------------


def test_uploads_no_message_took_within_a_day_are_pruned_with_their_files(
    course, student, media_root, django_capture_on_commit_callbacks
):
    old = attachment_create(uploader=student, course=course, upload=png_upload())
    Attachment.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=2))
    recent = attachment_create(uploader=student, course=course, upload=upload("a.txt", b"a"))

    with django_capture_on_commit_callbacks(execute=True):
        assert attachment_prune() == 1

    assert list(Attachment.objects.all()) == [recent]
    assert [path.name for path in files_on_disk(media_root)] == [recent.file.name.split("/")[-1]]


def test_a_deleted_messages_attachments_are_pruned(course, student):
    attachment = attachment_create(uploader=student, course=course, upload=png_upload())
    message, _ = carried(student, course, attachment)
    message_delete(actor=student, course=course, message_id=message.pk)

    assert attachment_prune() == 1

    assert not Attachment.objects.exists()


def test_the_prune_command_keeps_carried_attachments(course, student):
    carried_file = attachment_create(uploader=student, course=course, upload=png_upload())
    carried(student, course, carried_file)
    Attachment.objects.update(created=timezone.now() - timedelta(days=2))
    output = io.StringIO()

    call_command("chat_attachments_prune", stdout=output)

    assert output.getvalue() == "0 chat attachment(s) removed.\n"
    assert Attachment.objects.get() == carried_file


def test_the_room_page_shows_an_attachments_name_as_text(course, student):
    attachment = attachment_create(
        uploader=student, course=course, upload=upload("<img src=x onerror=alert(1)>.txt", b"x")
    )
    carried(student, course, attachment)

    page = page_for(student).get(f"/chat/room/{course.pk}/").content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    assert "<img src=x" not in page
    assert f'href="/chat/attachments/{attachment.pk}/" download' in page
