"""Security headers on every HTML page: CSP without inline script, nosniff, no framing."""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from .html_checks import active_content, inline_styles
from .routes import route_urls

pytestmark = pytest.mark.django_db

VIDEO_PLAYERS = {
    "https://www.youtube-nocookie.com",
    "https://www.youtube.com",
    "https://player.vimeo.com",
}


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        if part.strip():
            name, *values = part.split()
            directives[name] = values
    return directives


def html_responses(client, url_samples):
    """(url, response) of a GET of every address of the site that answers with HTML."""
    for _, url in route_urls(url_samples):
        response = client.get(url)
        if response.headers.get("Content-Type", "").startswith("text/html"):
            yield url, response


@pytest.fixture
def owner_client(hostile_world):
    client = Client()
    client.force_login(hostile_world.owner)
    return client


def test_every_html_page_has_the_security_headers(owner_client, url_samples):
    missing = []
    pages = 0
    for url, response in html_responses(owner_client, url_samples):
        pages += response.status_code == 200
        directives = policy(response)
        if (
            directives.get("script-src") != ["'self'"]
            or directives.get("style-src") != ["'self'"]
            or directives.get("frame-ancestors") != ["'none'"]
            or directives.get("object-src") != ["'none'"]
            or response.headers.get("X-Content-Type-Options") != "nosniff"
            or response.headers.get("X-Frame-Options") != "DENY"
            or response.headers.get("Referrer-Policy") != "same-origin"
        ):
            missing.append((url, response.status_code))

    assert missing == []
    assert pages >= 40  # the walk really reached the pages (site and admin)


def test_no_page_needs_inline_script(owner_client, url_samples):
    found = {}
    for url, response in html_responses(owner_client, url_samples):
        problems = active_content(response.content.decode())
        if problems:
            found[url] = problems

    assert found == {}


def test_our_own_pages_have_no_inline_style(owner_client, url_samples):
    found = {}
    for url, response in html_responses(owner_client, url_samples):
        styles = inline_styles(response.content.decode())
        if styles and not url.startswith("/admin/"):
            found[url] = styles

    assert found == {}


def test_the_visitors_pages_have_the_policy_too(hostile_world):
    client = Client()
    for url in ("/", "/course/hostile-course/", "/accounts/login/", "/students/register/"):
        response = client.get(url)

        assert response.status_code == 200
        assert policy(response)["default-src"] == ["'self'"]


def test_a_not_found_page_has_the_policy():
    response = Client().get("/no/such/page/")

    assert response.status_code == 404
    assert policy(response)["script-src"] == ["'self'"]


def test_only_youtube_and_vimeo_may_be_framed():
    response = Client().get("/accounts/login/")

    assert set(policy(response)["frame-src"]) == VIDEO_PLAYERS


def test_the_chat_socket_is_allowed_by_connect_src():
    # 'self' covers ws:// and wss:// on the page's own host (CSP level 3).
    response = Client().get("/accounts/login/")

    assert policy(response)["connect-src"] == ["'self'"]


def test_the_lock_out_page_has_the_policy(settings):
    settings.AXES_FAILURE_LIMIT = 1
    client = Client()

    response = client.post("/accounts/login/", {"username": "nobody", "password": "guess"})

    assert response.status_code == 429
    assert policy(response)["script-src"] == ["'self'"]


def test_a_course_file_keeps_its_own_stricter_policy(hostile_world):
    client = Client()
    client.force_login(hostile_world.student)

    response = client.get(f"/course/content/{hostile_world.image_content.pk}/file/")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def template_files() -> list[Path]:
    roots = [Path(settings.BASE_DIR, "templates")]
    roots += Path(settings.BASE_DIR).glob("*/templates")
    return sorted(path for root in roots for path in root.rglob("*.html"))


def test_no_template_of_ours_holds_inline_script_or_style():
    found = {}
    for path in template_files():
        # E-mails are no pages: no CSP applies, and mail clients need their styles inline.
        if "email" in path.parts:
            continue
        text = path.read_text()
        problems = active_content(text, template=True) + inline_styles(text, template=True)
        if problems:
            found[str(path.relative_to(settings.BASE_DIR))] = problems

    assert found == {}
