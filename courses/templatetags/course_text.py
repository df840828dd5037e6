from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from courses.models import CONTENT_KIND_NAMES
from courses.rendering import markdown_to_html

register = template.Library()


@register.filter
def markdown(source: str, top_heading: int):
    """Sanitised Markdown, its headings from h<top_heading> down (below the page's own)."""
    return mark_safe(markdown_to_html(source, top_heading=top_heading))  # noqa: S308 - sanitised


_KIND_COUNTS = {
    "text": lambda n: ngettext("%(count)d text", "%(count)d texts", n),
    "video": lambda n: ngettext("%(count)d video", "%(count)d videos", n),
    "image": lambda n: ngettext("%(count)d image", "%(count)d images", n),
    "file": lambda n: ngettext("%(count)d file", "%(count)d files", n),
    "quiz": lambda n: ngettext("%(count)d quiz", "%(count)d quizzes", n),
}


@register.filter
def content_counts(counts: dict[str, int]) -> str:
    """{"text": 4, "video": 2} as "4 texts, 2 videos" (courses.selectors.CourseSummary)."""
    # A count never wraps away from its noun ("1 / video" on a narrow screen).
    parts = (_KIND_COUNTS[kind](count) % {"count": count} for kind, count in counts.items())
    return ", ".join(part.replace(" ", "\u00a0") for part in parts)


@register.filter
def course_length(minutes: int) -> str:
    """An estimated length in minutes as people say it: "about 1 hour 20 minutes"."""
    hours, rest = divmod(minutes, 60)
    hour_text = ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minute_text = ngettext("%(count)d minute", "%(count)d minutes", rest) % {"count": rest}
    if not hours:
        length = minute_text
    elif not rest:
        length = hour_text
    else:
        length = _("%(hours)s %(minutes)s") % {"hours": hour_text, "minutes": minute_text}
    return _("about %(length)s") % {"length": length}


@register.filter
def module_content_count(summary, module_id: int) -> int:
    """How many contents a module of the summarised course has (courses.selectors.CourseSummary)."""
    return summary.module_content_counts.get(module_id, 0)


@register.filter
def kind_name(kind: str) -> str:
    """The word people use for a content kind ("text", "video"...), in the page's language."""
    return CONTENT_KIND_NAMES.get(kind, kind)
