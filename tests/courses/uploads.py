"""Files for upload tests, made in memory."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage


def image_bytes(image_format: str = "PNG", size=(4, 3), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    PILImage.new(mode, size, "#0b6bcb" if mode == "RGB" else 1).save(buffer, format=image_format)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_upload(name: str = "picture.png", **kwargs):
    return upload(name, image_bytes("PNG", **kwargs), "image/png")


def files_on_disk(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file())
