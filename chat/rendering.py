"""Chat text as safe HTML: a small Markdown (no images, no headings, no raw HTML), bare URLs
turned into links, then sanitised. Rendered once, when a message is stored.
"""

import html
import re
import threading
import xml.etree.ElementTree as etree

import markdown
import nh3
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "i", "li", "ol", "p", "pre", "strong", "ul",
}  # fmt: skip
LINK_REL = "noopener nofollow ugc"
EXCERPT_LENGTH = 120

# A bare http(s) or www. address; placeholders of Python-Markdown (\x02, \x03) end it too.
_BARE_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'\x02\x03]+", re.IGNORECASE)
# Characters that end a sentence rather than an address: "see https://x.org." links x.org.
_URL_TRAILING = ".,:;!?'\")]}"
# Text with none of Markdown's syntax and no address renders as one escaped paragraph: most chat
# messages are such, and this costs a fraction of a full Markdown pass.
# On one line, Markdown reads the characters excluded here anywhere, and these at the start.
_PLAIN = re.compile(r"[^\x00-\x1f\x7f\xa0*_`\[\]<>&\\]*")
_PLAIN_START = re.compile(r"\s|\d+[.)]|[-+#=>]")
_BLOCK_TAG = re.compile(r"</?(?:p|li|br|pre|blockquote|ul|ol)\b[^>]*>")
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+\S")


class _ListAfterText(Preprocessor):
    """A list may follow a line of text directly, as people write it in a chat."""

    def run(self, lines):
        result = []
        for line in lines:
            previous = result[-1] if result else ""
            if (
                _LIST_ITEM.match(line)
                and previous.strip()
                and not _LIST_ITEM.match(previous)
                and not previous.startswith((" ", "\t"))
            ):
                result.append("")
            result.append(line)
        return result


class _BareUrlLinks(Treeprocessor):
    """Wrap bare addresses in text in links (not inside links, code or code blocks)."""

    SKIP = frozenset({"a", "code", "pre"})

    def run(self, root):
        self._walk(root)

    def _walk(self, element):
        if element.tag in self.SKIP:
            return
        for child in list(element):
            self._walk(child)
        if element.text:
            nodes = self._split(element.text)
            if nodes:
                element.text = nodes[0]
                for index, node in enumerate(nodes[1:]):
                    element.insert(index, node)
        for child in list(element):
            if child.tail:
                nodes = self._split(child.tail)
                if nodes:
                    child.tail = nodes[0]
                    position = list(element).index(child)
                    for offset, node in enumerate(nodes[1:], start=1):
                        element.insert(position + offset, node)

    def _split(self, text: str):
        """[text before, <a> with its tail, ...] or None when the text has no address."""
        if "www." not in text.lower() and "://" not in text:
            return None
        nodes, last = [], 0
        current = None
        for match in _BARE_URL.finditer(text):
            url = match.group(0).rstrip(_URL_TRAILING)
            # A closing bracket is part of the address when it closes one of its own.
            while match.group(0)[len(url) : len(url) + 1] == ")" and url.count("(") > url.count(
                ")"
            ):
                url += ")"
            start, end = match.start(), match.start() + len(url)
            link = etree.Element("a", href=url if "://" in url else f"https://{url}")
            link.text = url
            before = text[last:start]
            if current is None:
                nodes.append(before)
            else:
                current.tail = before
            nodes.append(link)
            current, last = link, end
        if current is None:
            return None
        current.tail = text[last:]
        return nodes


class _ChatExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 - Python-Markdown's name
        # Raw HTML is shown as text, not passed on for the sanitiser to pick through.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # No headings and no images in a chat line.
        md.parser.blockprocessors.deregister("hashheader")
        md.parser.blockprocessors.deregister("setextheader")
        md.parser.blockprocessors.deregister("hr")
        for name in ("image_link", "image_reference", "short_image_ref"):
            md.inlinePatterns.deregister(name)
        # After fenced_code (25), which has put code blocks aside.
        md.preprocessors.register(_ListAfterText(md), "list_after_text", 20)
        md.treeprocessors.register(_BareUrlLinks(md), "bare_url_links", 5)


_local = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's Markdown instance (building one costs far more than a conversion)."""
    md = getattr(_local, "markdown", None)
    if md is None:
        # sane_lists: a bullet list and a numbered list after it stay two lists; nl2br: a line
        # break in a chat message is one.
        md = markdown.Markdown(extensions=["fenced_code", "sane_lists", "nl2br", _ChatExtension()])
        _local.markdown = md
    return md


_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes={"a": {"href"}, "code": {"class"}},
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes={"http", "https", "mailto"},
)


def message_html(text: str) -> str:
    """The chat text rendered to sanitised HTML."""
    if (
        _PLAIN.fullmatch(text)
        and not _PLAIN_START.match(text)
        and "://" not in text
        and "www." not in text.lower()
    ):
        return f"<p>{html.escape(text, quote=False)}</p>"
    return _cleaner.clean(_markdown().reset().convert(text))


def html_excerpt(rendered: str, length: int = EXCERPT_LENGTH) -> str:
    """The plain text of rendered HTML on one line, cut to at most `length` characters."""
    text = _SPACES.sub(" ", html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", rendered)))).strip()
    if len(text) <= length:
        return text
    return text[: length - 1].rstrip() + "…"
