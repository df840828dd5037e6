"""Structural checks of rendered HTML: what in a page could run script."""

from html.parser import HTMLParser

SCRIPT_DATA_TYPES = {"application/json", "application/ld+json"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href"}


class _ActiveContent(HTMLParser):
    def __init__(self, *, template: bool = False):
        super().__init__(convert_charrefs=True)
        # In template source, addresses are still {% tags %}: only their presence counts.
        self.template = template
        self.found: list[str] = []
        self.inline_styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.inline_styles.append(f"<{tag} style={value!r}>")
        if tag == "script" and "src" not in attributes:
            if attributes.get("type") not in SCRIPT_DATA_TYPES:
                self.found.append("<script> with inline code")
        elif tag == "script" and not self.template and not _is_same_origin(attributes["src"]):
            self.found.append(f"<script src={attributes['src']!r}>")
        if tag in ("iframe", "object", "embed", "frame") and not self.template:
            source = attributes.get("src") or attributes.get("data") or ""
            if not _is_video_player(source):
                self.found.append(f"<{tag} src={source!r}>")
        if tag == "img" and attributes.get("src") == "x":
            self.found.append("<img src=x> from a payload")


def _is_same_origin(url: str | None) -> bool:
    return bool(url) and url.startswith("/") and not url.startswith("//")


def _is_video_player(url: str) -> bool:
    return url.startswith(
        (
            "https://www.youtube-nocookie.com/embed/",
            "https://www.youtube.com/embed/",
            "https://player.vimeo.com/video/",
        )
    )


def active_content(html: str, *, template: bool = False) -> list[str]:
    """Everything in the page that runs script: inline scripts, scripts from other sites, event
    handler attributes, javascript: URLs, frames other than the video players."""
    parser = _ActiveContent(template=template)
    parser.feed(html)
    parser.close()
    return parser.found


def inline_styles(html: str, *, template: bool = False) -> list[str]:
    """style="..." attributes: a CSP without 'unsafe-inline' refuses them."""
    parser = _ActiveContent(template=template)
    parser.feed(html)
    parser.close()
    return parser.inline_styles
