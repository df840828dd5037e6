"""The pixel cap of course images (UPLOAD_MAX_IMAGE_PIXELS): read from the header, before any
decoding, in the CMS and in the API alike."""

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from courses.forms import ImageForm
from courses.models import Image
from tests.factories import CourseFactory, ModuleFactory

from .uploads import png_upload, upload

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """An RGBA PNG of transparent pixels: 6,300 x 6,300 is a 154 KB file and a 159 MB image."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + 4 * width)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """The image of the issue: 6,300 x 6,300 RGBA, under the old 40-megapixel cap."""
    return png_bomb(6300, 6300)


def test_the_cms_refuses_a_6300_pixel_square_png_with_a_form_error(
    client, module, instructor, media_root, bomb
):
    client.force_login(instructor)
    response = client.post(
        reverse("module_content_create", args=[module.pk, "image"]),
        {"title": "Bomb", "file": upload("bomb.png", bomb, "image/png")},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The image is 6300×6300 pixels; the limit is 25 megapixels."
    ]
    assert not Image.objects.exists()


def test_the_api_refuses_a_6300_pixel_square_png_with_a_400_naming_the_file(
    instructor, media_root, bomb
):
    api = APIClient()
    api.force_authenticate(instructor)
    module = ModuleFactory(course=CourseFactory(owner=instructor))

    response = api.post(
        f"/api/modules/{module.pk}/contents/",
        {"kind": "image", "title": "Bomb", "file": upload("bomb.png", bomb, "image/png")},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["file"] == [
        "The image is 6300×6300 pixels; the limit is 25 megapixels."
    ]


def test_the_pixel_cap_is_the_upload_max_image_pixels_setting(settings):
    settings.UPLOAD_MAX_IMAGE_PIXELS = 100 * 100

    at_cap = ImageForm(data={"title": "a"}, files={"file": png_upload(size=(100, 100))})
    over_cap = ImageForm(data={"title": "b"}, files={"file": png_upload(size=(101, 100))})

    assert at_cap.is_valid(), at_cap.errors
    assert over_cap.errors["file"] == ["The image is 101×100 pixels; the limit is 0.01 megapixels."]


VALIDATE_IN_A_FRESH_PROCESS = """
import json, resource, sys
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from courses.forms import ImageForm

data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
form = ImageForm(data={"title": "x"}, files={"file": SimpleUploadedFile("b.png", data)})
valid = form.is_valid()
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"valid": valid, "grown_kib": grown}))
"""


def test_an_image_over_the_cap_is_refused_before_its_pixels_are_decoded(tmp_path, bomb):
    # Decoding it would take 159 MB; refused from its header, it costs next to nothing.
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    result = subprocess.run(
        [sys.executable, "-c", VALIDATE_IN_A_FRESH_PROCESS, str(path)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "educa.settings.test"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    outcome = json.loads(result.stdout.splitlines()[-1])

    assert outcome["valid"] is False
    assert outcome["grown_kib"] < 32 * 1024
