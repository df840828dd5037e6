"""Turning user-written content into safe HTML."""

import re
from urllib.parse import parse_qs, urlparse

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_VIMEO_ID = re.compile(r"^\d+$")


# The page's own headings around user text: a lesson sits under its h3 title in the study view.
LESSON_TOP_HEADING = 4
_HEADING = re.compile(r"^h([1-6])$")


class _HeadingShift(Treeprocessor):
    def __init__(self, md, top: int):
        super().__init__(md)
        self.top = top

    def run(self, root):
        for element in root.iter():
            match = _HEADING.match(element.tag)
            if match:
                element.tag = f"h{min(6, int(match.group(1)) + self.top - 1)}"


class HeadingShiftExtension(Extension):
    """`#` becomes h<top>, `##` the level below it, and so on (h6 at most)."""

    def __init__(self, top: int):
        super().__init__()
        self.top = top

    def extendMarkdown(self, md):  # noqa: N802 - Python-Markdown's name
        md.treeprocessors.register(_HeadingShift(md, self.top), "heading_shift", 5)


def markdown_to_html(source: str, *, top_heading: int = LESSON_TOP_HEADING) -> str:
    """Render Markdown with its headings from h<top_heading> down, then strip anything that
    could run script."""
    html = markdown.markdown(
        source,
        # sane_lists: a bullet list and a numbered list after it stay two lists.
        extensions=["fenced_code", "tables", "sane_lists", HeadingShiftExtension(top_heading)],
    )
    return nh3.clean(html, tags=ALLOWED_TAGS, link_rel="noopener noreferrer nofollow")


def video_embed_url(url: str) -> str | None:
    """The embeddable player address of a YouTube or Vimeo link, or None for anything else."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        return None
    host = (parsed.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    path = parsed.path.strip("/")
    video_id = None
    if host == "youtube.com":
        if path == "watch":
            video_id = parse_qs(parsed.query).get("v", [None])[0]
        elif path.startswith(("embed/", "shorts/", "live/")):
            video_id = path.split("/")[1]
    elif host == "youtu.be":
        video_id = path.split("/")[0]
    if video_id is not None:
        if _YOUTUBE_ID.match(video_id):
            return f"https://www.youtube-nocookie.com/embed/{video_id}"
        return None
    if host == "vimeo.com" and _VIMEO_ID.match(path.split("/")[0] if path else ""):
        return f"https://player.vimeo.com/video/{path.split('/')[0]}"
    if host == "player.vimeo.com" and path.startswith("video/"):
        vimeo_id = path.split("/")[1] if len(path.split("/")) > 1 else ""
        if _VIMEO_ID.match(vimeo_id):
            return f"https://player.vimeo.com/video/{vimeo_id}"
    return None
