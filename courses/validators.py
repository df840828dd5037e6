"""Validators for what instructors type and upload: slugs, videos, files and images."""

import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image as PILImage

from .rendering import video_embed_url

# Words used by fixed /course/<word>/ addresses: a course with one of these slugs would be
# unreachable, or would shadow a CMS page.
RESERVED_SLUGS = frozenset(
    {
        "mine", "create", "edit", "delete", "module", "modules", "content", "contents",
        "subject", "subjects", "order", "publish", "unpublish", "students", "file", "files",
        "new", "admin", "api", "chat", "static", "media",
    }
)  # fmt: skip

# Raster formats Pillow may decode, with the suffix their files are stored under.
RASTER_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp"}
RASTER_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
SLUG_RESERVED = _("“%(slug)s” is a reserved word; choose another slug.")
VIDEO_URL_UNSUPPORTED = _("Only YouTube and Vimeo video links are supported.")
UPLOAD_TOO_LARGE = _("The file is %(size)s; the limit is %(limit)s.")
IMAGE_INVALID = _("Upload a valid PNG, JPEG, GIF or WebP image; this file is not one.")
IMAGE_TOO_LARGE = _("The image is %(width)s×%(height)s pixels; the limit is %(limit)s megapixels.")


def validate_slug_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(SLUG_RESERVED, code="reserved", params={"slug": value})


def validate_video_url(value: str) -> None:
    if video_embed_url(value) is None:
        raise ValidationError(VIDEO_URL_UNSUPPORTED, code="unsupported_video")


def _is_new_upload(value) -> bool:
    # A FieldFile already in storage was checked when it was uploaded; re-reading it on every
    # edit of the title would be slow and could fail if storage is elsewhere.
    return not getattr(value, "_committed", False)


def validate_upload_size(value) -> None:
    if not _is_new_upload(value):
        return
    limit = settings.UPLOAD_MAX_BYTES
    if value.size is not None and value.size > limit:
        raise ValidationError(
            UPLOAD_TOO_LARGE,
            code="file_too_large",
            params={"size": filesizeformat(value.size), "limit": filesizeformat(limit)},
        )


def raster_format(fileobj) -> str:
    """The format ("PNG", "JPEG", "GIF" or "WEBP") of an image that Pillow fully decodes.

    Raises ValidationError for anything else: other formats, HTML or SVG under an image name,
    truncated or corrupt data, more pixels than UPLOAD_MAX_IMAGE_PIXELS (found in the header,
    before anything is decoded: a small file can hold a huge image). Leaves the file at
    position 0.
    """
    max_pixels = settings.UPLOAD_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            fileobj.seek(0)
            # open() reads the header only; the pixels are decoded by load() below.
            with PILImage.open(fileobj, formats=list(RASTER_FORMATS)) as image:
                image_format = image.format
                width, height = image.size
                if width * height > max_pixels:
                    raise ValidationError(
                        IMAGE_TOO_LARGE,
                        code="image_too_large",
                        params={
                            "width": width,
                            "height": height,
                            "limit": f"{max_pixels / 1_000_000:g}",
                        },
                    )
                image.verify()
            # verify() leaves the image unusable and misses truncated pixel data: decode again.
            fileobj.seek(0)
            with PILImage.open(fileobj, formats=[image_format]) as image:
                image.load()
    except ValidationError:
        raise
    except Exception as error:  # Pillow raises many types for bad data; all mean "not an image".
        raise ValidationError(IMAGE_INVALID, code="invalid_image") from error
    finally:
        fileobj.seek(0)
    return image_format


def raster_suffix(fileobj) -> str | None:
    """The stored suffix for an image file, from its header only, or None if it is not one."""
    try:
        fileobj.seek(0)
        with PILImage.open(fileobj, formats=list(RASTER_FORMATS)) as image:
            return RASTER_FORMATS.get(image.format)
    except Exception:  # Pillow raises many types for bad data; all mean "not an image".
        return None
    finally:
        fileobj.seek(0)


def validate_raster_image(value) -> None:
    if _is_new_upload(value):
        raster_format(value)
