"""Hostile uploads through the CMS pages: refused with a form error, or stored and served inert."""

import pytest
from django.test import Client
from django.urls import reverse

from courses.models import Content, File, Image
from tests.courses.uploads import files_on_disk, image_bytes
from tests.factories import EnrollmentFactory, InstructorFactory, ModuleFactory

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=1"><circle r="4"/></svg>'
HTML = b"<!doctype html><html><body><script>window.__xss=1</script></body></html>"
BOUNDARY = "educa-hostile-upload"


@pytest.fixture
def module(media_root):
    return ModuleFactory(course__owner=InstructorFactory())


@pytest.fixture
def instructor_client(module):
    client = Client()
    client.force_login(module.course.owner)
    return client


def multipart(title: str, filename: str, data: bytes, content_type: str) -> bytes:
    """A form body written by hand, so the file name reaches the server exactly as given."""
    return b"".join(
        [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'.encode(),
            title.encode(),
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode(),
            data,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
    )


def upload(client, module, kind, filename, data, content_type="application/octet-stream"):
    return client.post(
        reverse("module_content_create", args=[module.pk, kind]),
        multipart("Hostile", filename, data, content_type),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def refused(response) -> list[str]:
    assert response.status_code == 400
    return response.context["form"].errors.get("file", [])


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("page.png", HTML),
        ("drawing.png", SVG),
        ("drawing.svg", SVG),
        ("cut.png", image_bytes("PNG", size=(64, 64))[:-40]),
    ],
    ids=["html named png", "svg named png", "svg", "truncated png"],
)
def test_a_bad_image_is_refused_with_a_form_error(
    instructor_client, module, media_root, filename, data
):
    response = upload(instructor_client, module, "image", filename, data, "image/png")

    assert refused(response)
    assert not Image.objects.exists()
    assert files_on_disk(media_root) == []


@pytest.mark.parametrize("kind", ["file", "image"])
def test_a_file_over_the_limit_is_refused_with_a_form_error(
    settings, instructor_client, module, media_root, kind
):
    settings.UPLOAD_MAX_BYTES = 1024
    data = image_bytes("PNG", size=(300, 300)) + b"\0" * 2048

    response = upload(instructor_client, module, kind, "big.png", data, "image/png")

    assert any("limit" in error for error in refused(response))
    assert not Content.objects.exists()
    assert files_on_disk(media_root) == []


@pytest.mark.parametrize(
    ("kind", "filename", "data", "suffix"),
    [
        ("image", "../../../../../tmp/evil.png", image_bytes("PNG"), ".png"),
        ("file", "..\\..\\..\\evil.html", HTML, ".html"),
        ("file", "/etc/cron.d/evil", b"* * * * * root true", ""),
    ],
    ids=["dot-dot slashes", "dot-dot backslashes", "absolute path"],
)
def test_a_path_in_the_file_name_is_dropped_for_a_generated_name(
    instructor_client, module, media_root, kind, filename, data, suffix
):
    response = upload(instructor_client, module, kind, filename, data)

    assert response.status_code == 302
    [stored] = files_on_disk(media_root)
    relative = stored.relative_to(media_root)
    assert relative.parent.as_posix() == f"courses/{module.course.owner_id}"
    assert "evil" not in relative.name
    assert len(relative.stem) == 32  # a uuid4 hex
    assert relative.suffix == suffix


def served(module, filename, kind, data):
    client = Client()
    client.force_login(module.course.owner)
    upload(client, module, kind, filename, data)
    student = EnrollmentFactory(course=module.course).student
    client.force_login(student)
    content = Content.objects.get()
    return client.get(reverse("content_file", args=[content.pk]))


def test_an_uploaded_html_file_is_served_as_a_download_that_cannot_run(module):
    response = served(module, "page.html", "file", HTML)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_an_uploaded_svg_file_is_served_as_a_download_that_cannot_run(module):
    response = served(module, "drawing.svg", "file", SVG)

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_an_image_is_served_inline_only_as_the_raster_type_it_decoded_as(module):
    response = served(module, "photo.png", "image", image_bytes("PNG"))

    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_uploads_are_not_reachable_under_media(module):
    response = served(module, "page.html", "file", HTML)
    name = File.objects.get().file.name

    assert response.status_code == 200
    assert Client().get(f"/media/{name}").status_code == 404
