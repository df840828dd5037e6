from django import template
from django.utils.safestring import mark_safe

from courses.models import CONTENT_KIND_NAMES
from courses.rendering import markdown_to_html

register = template.Library()


@register.filter
def markdown(source: str, top_heading: int):
    """Sanitised Markdown, its headings from h<top_heading> down (below the page's own)."""
    return mark_safe(markdown_to_html(source, top_heading=top_heading))  # noqa: S308 - sanitised


@register.filter
def kind_name(kind: str) -> str:
    """The word people use for a content kind ("text", "video"...), in the page's language."""
    return CONTENT_KIND_NAMES.get(kind, kind)
