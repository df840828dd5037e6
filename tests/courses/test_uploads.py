"""What the content forms accept: images by content, files of any kind, sizes, video links."""

import re

import pytest
from django.core.exceptions import ValidationError

from courses import services
from courses.forms import FileForm, ImageForm, VideoForm
from courses.models import Image
from courses.validators import IMAGE_INVALID, VIDEO_URL_UNSUPPORTED, raster_format
from tests.factories import InstructorFactory

from .uploads import image_bytes, png_upload, upload

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def image_form(file):
    return ImageForm(data={"title": "Picture"}, files={"file": file})


def file_form(file):
    return FileForm(data={"title": "Notes"}, files={"file": file})


def saved(form):
    assert form.is_valid(), form.errors
    item = form.save(commit=False)
    item.owner = InstructorFactory()
    item.save()
    return item


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_raster_images_are_accepted(image_format):
    form = image_form(upload(f"x.{image_format.lower()}", image_bytes(image_format)))

    assert form.is_valid(), form.errors


def test_an_html_page_named_png_is_refused():
    assert "file" in image_form(upload("page.png", HTML, "image/png")).errors


def test_an_svg_named_png_is_refused():
    assert "file" in image_form(upload("drawing.png", SVG, "image/png")).errors


def test_an_svg_under_its_own_name_is_refused():
    assert "file" in image_form(upload("drawing.svg", SVG, "image/svg+xml")).errors


def test_a_truncated_png_is_refused():
    data = image_bytes("PNG", size=(64, 64))
    form = image_form(upload("cut.png", data[: len(data) // 2]))

    assert "file" in form.errors


def test_a_truncated_jpeg_is_refused():
    data = image_bytes("JPEG", size=(64, 64))
    form = image_form(upload("cut.jpg", data[: len(data) // 2]))

    assert "file" in form.errors


def test_an_image_format_outside_the_four_is_refused():
    form = image_form(upload("x.bmp", image_bytes("BMP")))

    assert "file" in form.errors


def test_an_image_of_too_many_pixels_is_refused():
    # 64 megapixels, yet a tiny file: the header alone must stop it.
    bomb = image_bytes("PNG", size=(8000, 8000), mode="1")

    assert "file" in image_form(upload("bomb.png", bomb)).errors


def test_an_image_is_stored_in_its_owners_folder_under_a_generated_name(media_root):
    item = saved(image_form(png_upload("My Holiday.png")))

    assert re.fullmatch(rf"courses/{item.owner_id}/[0-9a-f]{{32}}\.png", item.file.name)


def test_an_image_is_stored_with_the_suffix_of_its_real_format(media_root):
    item = saved(image_form(upload("really-a-png.jpg", image_bytes("PNG"))))

    assert item.file.name.endswith(".png")


def test_an_image_records_its_size(media_root):
    item = saved(image_form(png_upload(size=(7, 5))))

    assert (item.width, item.height) == (7, 5)


def truncated(image_format):
    data = image_bytes(image_format, size=(64, 64))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data",
    [HTML, SVG, truncated("PNG"), truncated("JPEG"), image_bytes("BMP"), image_bytes("TIFF")],
    ids=["html", "svg", "truncated png", "truncated jpeg", "bmp", "tiff"],
)
def test_the_model_level_check_refuses_what_is_not_a_whole_raster_image(data):
    # Paths that skip the form's own Pillow check (the API, scripts) still meet this one.
    with pytest.raises(ValidationError) as error:
        raster_format(upload("x.png", data))

    assert error.value.messages == [IMAGE_INVALID]


def test_saving_an_image_through_the_service_checks_it(module):
    with pytest.raises(ValidationError):
        services.content_create(module=module, item=Image(title="x", file=upload("x.png", HTML)))


# --- files ------------------------------------------------------------------------------------


def test_a_file_of_any_content_is_accepted(media_root):
    item = saved(file_form(upload("page.html", HTML, "text/html")))

    assert item.file.read() == HTML


def test_a_file_is_stored_under_a_generated_name_keeping_its_suffix(media_root):
    item = saved(file_form(upload("Lecture Notes.PDF", b"%PDF-1.4")))

    assert re.fullmatch(rf"courses/{item.owner_id}/[0-9a-f]{{32}}\.pdf", item.file.name)


def test_odd_characters_in_a_suffix_are_dropped(media_root):
    item = saved(file_form(upload("notes.t<x>t", b"x")))

    assert item.file.name.endswith(".txt")


def test_an_empty_file_is_refused():
    assert "file" in file_form(upload("empty.txt", b"")).errors


# --- size limit -------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 10

    assert "file" in file_form(upload("big.txt", b"x" * 11)).errors


def test_a_file_at_the_limit_is_accepted(settings):
    settings.UPLOAD_MAX_BYTES = 10

    assert file_form(upload("ok.txt", b"x" * 10)).is_valid()


def test_an_image_over_the_limit_is_refused(settings):
    settings.UPLOAD_MAX_BYTES = 10

    assert "file" in image_form(png_upload()).errors


def test_the_default_limit_is_20_megabytes(settings):
    assert settings.UPLOAD_MAX_BYTES == 20 * 1024 * 1024


# --- video ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://vimeo.com/76979871",
    ],
)
def test_youtube_and_vimeo_links_are_accepted(url):
    assert VideoForm(data={"title": "Clip", "url": url}).is_valid()


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test/video.mp4",
        "javascript:alert(1)",
        "https://www.youtube.com.evil.test/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=short",
    ],
)
def test_other_video_links_are_refused(url):
    form = VideoForm(data={"title": "Clip", "url": url})

    assert not form.is_valid()


def test_an_unsupported_video_gets_a_clear_message():
    form = VideoForm(data={"title": "Clip", "url": "https://evil.test/video.mp4"})

    assert VIDEO_URL_UNSUPPORTED in form.errors["url"]
