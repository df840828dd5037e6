"""Chat attachments in Chromium: one member sends an image and a file, another sees them."""

import io

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from tests.browser import test_chat_flow as chat_flow
from tests.browser.test_chat_flow import delivered, open_room
from tests.browser_support import requires_chromium

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]

# Fixtures of the chat's browser tests.
room = chat_flow.room
start_browsers = chat_flow.start_browsers

# No double quote: browsers send it as %22 in a multipart file name.
XSS_NAME = "<img src=x onerror=window.__xss=1>"


def png(size=(800, 600)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, "#0b6bcb").save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_sent_by_one_member_shows_as_a_thumbnail_to_another(
    room, start_browsers, tmp_path
):
    course, _, (ann, ben) = room
    server, session = start_browsers(DJANGO_MEDIA_ROOT=str(tmp_path))
    sender = open_room(session, server, ann, course)
    reader = open_room(session, server, ben, course)

    # Chosen with the keyboard's button; the name shows before anything is sent.
    sender.get_by_role("button", name="Attach a file").focus()
    sender.locator("#chat-file").set_input_files(
        {"name": f"{XSS_NAME}.png", "mimeType": "image/png", "buffer": png()}
    )
    expect(sender.locator("#chat-file-name")).to_contain_text(f"{XSS_NAME}.png")
    sender.locator("#chat-input").fill("our diagram")
    sender.get_by_role("button", name="Send").click()

    image = delivered(reader).locator(".chat-attachments img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("alt", f"{XSS_NAME}.png")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 320
    link = delivered(reader).locator(".chat-attachments a")
    assert link.get_attribute("href").startswith("/chat/attachments/")
    session.screenshot(reader, "image-received")

    # A file that is no image: a download link whose name is text, with its size.
    sender.locator("#chat-file").set_input_files(
        {"name": f"{XSS_NAME}.txt", "mimeType": "text/plain", "buffer": b"plain notes"}
    )
    sender.get_by_role("button", name="Send").click()
    download = delivered(reader).nth(1).locator(".chat-attachments a[download]")
    expect(download).to_have_text(f"{XSS_NAME}.txt")
    expect(delivered(reader).nth(1).locator(".chat-attachment-size")).to_contain_text("11")

    # After a reload, the server-rendered history shows the same.
    reader.reload()
    expect(delivered(reader).locator(".chat-attachments img")).to_have_count(1)
    expect(delivered(reader).locator(".chat-attachments a[download]")).to_have_text(
        f"{XSS_NAME}.txt"
    )
    for page in (sender, reader):
        # Only the one thumbnail is an element; the name's markup never became one.
        expect(page.locator("#chat-messages img")).to_have_count(1)
        assert page.evaluate("window.__xss") is None


def test_an_upload_the_server_refuses_shows_its_message(room, start_browsers, tmp_path):
    course, _, (ann, _) = room
    server, session = start_browsers(DJANGO_MEDIA_ROOT=str(tmp_path))
    sender = open_room(session, server, ann, course)

    sender.locator("#chat-file").set_input_files(
        {"name": "fake.png", "mimeType": "image/png", "buffer": b"<html>not an image</html>"}
    )
    sender.get_by_role("button", name="Send").click()

    expect(sender.locator("#chat-error")).to_contain_text("valid PNG, JPEG, GIF or WebP")
    expect(sender.locator("#chat-file-name")).to_contain_text("fake.png")
    expect(delivered(sender)).to_have_count(0)
