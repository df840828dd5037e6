"""Each content kind renders through its own template; user text can never run script."""

import pytest

from courses import services
from courses.models import Text, Video
from tests.factories import ModuleFactory

pytestmark = pytest.mark.django_db

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=https://evil.test></iframe>",
    '<svg onload="alert(1)"></svg>',
    "<p style=\"background:url('javascript:alert(1)')\">x</p>",
]


def rendered(item) -> str:
    return services.content_create(module=ModuleFactory(), item=item).render()


def test_markdown_becomes_html():
    html = rendered(Text(title="T", content="Some **bold** text"))

    assert "<strong>bold</strong>" in html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_script_in_markdown_is_inert(payload):
    html = rendered(Text(title="T", content=payload)).lower()

    assert all(
        bad not in html for bad in ("<script", "onerror", "javascript:", "<iframe", "onload")
    )


def test_a_video_renders_as_an_embedded_player():
    html = rendered(Video(title="Clip", url="https://youtu.be/dQw4w9WgXcQ"))

    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html


def test_a_video_title_is_escaped():
    html = rendered(Video(title='"><script>x</script>', url="https://vimeo.com/76979871"))

    assert "<script>" not in html


def test_a_bullet_list_then_a_numbered_list_stay_two_lists():
    html = rendered(Text(title="Lists", content="- a\n- b\n\n1. one\n2. two"))

    assert "<ul>\n<li>a</li>\n<li>b</li>\n</ul>" in html
    assert "<ol>\n<li>one</li>\n<li>two</li>\n</ol>" in html


def test_lesson_headings_sit_below_the_lessons_own_h3_title():
    html = rendered(Text(title="T", content="# Big\n\n## Smaller\n\n#### Deep"))

    assert "<h4>Big</h4>" in html
    assert "<h5>Smaller</h5>" in html
    assert "<h6>Deep</h6>" in html
    assert "<h1" not in html and "<h2" not in html and "<h3" not in html


def test_a_video_always_shows_its_title_and_a_link_to_its_source():
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    html = rendered(Video(title="Light as a wave", url=url))

    assert "<figcaption" in html and "Light as a wave" in html.split("<figcaption")[1]
    assert (
        f'<a href="{url.replace("&", "&amp;")}" target="_blank" rel="noopener noreferrer">' in html
    )
