"""Turning user-written content into safe HTML."""

import re
from urllib.parse import parse_qs, urlparse

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_VIMEO_ID = re.compile(r"^\d+$")


def markdown_to_html(source: str) -> str:
    """Render Markdown, then strip anything that could run script."""
    html = markdown.markdown(source, extensions=["fenced_code", "tables"])
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
