"""Chat text as HTML: a small Markdown, bare links, sanitised, and cheap for plain text."""

import time

import pytest

from chat.rendering import EXCERPT_LENGTH, html_excerpt, message_html
from tests.security.conftest import MARKDOWN
from tests.security.html_checks import active_content

LINK_ATTRIBUTES = 'target="_blank" rel="noopener nofollow ugc"'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**bold**", "<p><strong>bold</strong></p>"),
        ("*italic*", "<p><em>italic</em></p>"),
        ("`x < y`", "<p><code>x &lt; y</code></p>"),
        ("```\nprint(1)\n```", "<pre><code>print(1)\n</code></pre>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        (
            "[the docs](https://docs.example.org/)",
            f'<p><a href="https://docs.example.org/" {LINK_ATTRIBUTES}>the docs</a></p>',
        ),
    ],
)
def test_markdown_becomes_html(text, html):
    assert message_html(text) == html


def test_a_list_may_follow_a_line_of_text_directly():
    assert message_html("Bring:\n- a pen\n- paper") == (
        "<p>Bring:</p>\n<ul>\n<li>a pen</li>\n<li>paper</li>\n</ul>"
    )


def test_list_lines_in_a_code_block_stay_code():
    assert message_html("```\ntext\n- not a list\n```") == (
        "<pre><code>text\n- not a list\n</code></pre>"
    )


def test_headings_stay_text():
    assert message_html("# Not a heading") == "<p># Not a heading</p>"
    assert "<h" not in message_html("Underlined\n===")


def test_images_stay_text():
    html = message_html("![a cat](https://example.org/cat.png)")

    assert "<img" not in html
    assert "![a cat]" in html


def test_raw_html_is_shown_as_text():
    assert message_html("<b>bold?</b>") == "<p>&lt;b&gt;bold?&lt;/b&gt;</p>"


@pytest.mark.parametrize(
    "text",
    [
        MARKDOWN,
        '<img src=x onerror="alert(1)"><script>alert(2)</script>&lt;',
        "[click](javascript:alert(1))",
        "[click](data:text/html,<script>alert(1)</script>)",
        '"><script>alert(1)</script>',
        "javascript:alert(1)",
        "https://example.org/\"onmouseover='alert(1)'",
    ],
)
def test_hostile_text_renders_inert(text):
    html = message_html(text)

    assert active_content(html) == []
    assert "<script" not in html
    assert "<img" not in html


@pytest.mark.parametrize(
    ("text", "url", "shown"),
    [
        ("see https://example.org/a?b=1&c=2 now", "https://example.org/a?b=1&amp;c=2", None),
        ("see https://example.org/page.", "https://example.org/page", None),
        ("(https://example.org/x)", "https://example.org/x", None),
        ("https://en.wikipedia.org/wiki/Bash_(Unix_shell)", None, None),
        ("go to www.example.org", "https://www.example.org", "www.example.org"),
    ],
)
def test_bare_addresses_become_links_that_open_apart(text, url, shown):
    html = message_html(text)
    if url is None:
        url = text
    shown = url if shown is None else shown

    assert f'<a href="{url}" {LINK_ATTRIBUTES}>{shown}</a>' in html


def test_addresses_in_code_stay_text():
    html = message_html("`https://example.org` and\n```\nhttps://example.org/x\n```")

    assert "<a " not in html


def test_an_address_already_linked_is_linked_once():
    html = message_html("[https://example.org](https://example.org)")

    assert html.count("<a ") == 1


@pytest.mark.parametrize(
    "text",
    [
        "Hello there, how is the lesson going today",
        'it\'s "quoted" (yes), 100% sure; ok?',
        "numbers 1.5 and 2) inside",
        "émoji 😀 and accents",
        "a.b@example.org writes",
        "bench-1-2-3 and a - dash, a+b=c, x|y, #hashtag! ~tilde~ time: 10:30",
        "ratio 3:2 # not a heading",
        "a carriage\rreturn",
        "no\xa0break",
    ],
)
def test_plain_text_renders_as_the_full_markdown_pass_would(text):
    from chat import rendering

    full = rendering._cleaner.clean(rendering._markdown().reset().convert(text))

    assert message_html(text) == full


@pytest.mark.parametrize(
    "text",
    # About 40 characters: a question, and a benchmark client's message.
    ["Is the assignment due on Friday or Monday", "run-20261205-3-17-42: sent at 10:30 + 2 s"],
)
def test_a_plain_message_renders_in_microseconds(text):
    runs = 2_000
    message_html(text)

    started = time.perf_counter()
    for _ in range(runs):
        message_html(text)
    per_message = (time.perf_counter() - started) / runs

    # About 1 µs on one core (a full Markdown pass takes about 30): room for a busy machine.
    assert per_message < 10e-6


def test_the_excerpt_is_the_plain_text_on_one_line():
    html = message_html("**Bold** and `code`\n\n- a\n- b")

    assert html_excerpt(html) == "Bold and code a b"


def test_a_long_excerpt_is_cut_to_its_length():
    excerpt = html_excerpt(message_html("word " * 100))

    assert len(excerpt) == EXCERPT_LENGTH
    assert excerpt.endswith("…")
