"""Charts drawn on the server as inline SVG: numbers in, an <svg role="img"> out, no script.

Colours come from classes (`chart-*`) that static/css/base.css paints with the site's custom
properties, so the dark theme follows `prefers-color-scheme`; a viewBox with width 100 % lets a
chart fit any width down to 360 px. Every text placed in a chart goes through `escape`: titles
are typed by users. Each chart is drawn beside a table with the same numbers, which is what
screen readers read; the SVG's own name only summarises it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Units of the viewBox; fonts are sized in the same units, so they scale with the chart.
# About the width of a card at 360 px, so that text keeps its size on a phone.
WIDTH = 320
FONT = 15
SMALL_FONT = 13
# A generous average advance of system-ui glyphs, in ems: labels are cut to fit with it.
CHARACTER_WIDTH = 0.58


@dataclass(frozen=True)
class FunnelStage:
    """One row of a funnel: how many got this far (`reached`) and how many got through it."""

    label: str
    reached: int
    finished: int


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _text(x: float, y: float, text: str, css_class: str = "chart-text", anchor: str = "") -> str:
    anchor_attribute = f' text-anchor="{anchor}"' if anchor else ""
    return (
        f'<text x="{_number(x)}" y="{_number(y)}" class="{css_class}"{anchor_attribute}>'
        f"{escape(text)}</text>"
    )


def _rect(x: float, y: float, width: float, height: float, css_class: str) -> str:
    return (
        f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(width)}" '
        f'height="{_number(height)}" class="{css_class}"/>'
    )


def _svg(*, height: float, name: str, css_class: str, body: list[str]) -> SafeString:
    # role="img" makes the drawing one image to assistive technology, named by aria-label
    # (and <title> for a pointer's tooltip); its texts are not read one by one.
    parts = [
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {_number(height)}" '
        f'width="100%" role="img" aria-label="{escape(name)}" '
        f'preserveAspectRatio="xMinYMin meet" focusable="false">',
        f"<title>{escape(name)}</title>",
        *body,
        "</svg>",
    ]
    # Safe: every text and attribute value above is escaped or a number formatted here.
    return mark_safe("".join(parts))  # noqa: S308


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHARACTER_WIDTH


def _cut(label: str, length: int) -> str:
    """The label, or its start and an ellipsis when longer than `length` characters."""
    return label if len(label) <= length else label[: max(length - 1, 1)].rstrip() + "…"


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ (n ≥ 0) that is at least `value`: the top of an axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(
    *, name: str, labels: Sequence[str], values: Sequence[int], label_every: int = 3
) -> SafeString:
    """Vertical bars, one per label, with a value axis from 0; `name` is the accessible name.

    Only every `label_every`-th label is written under the axis (the last one always), so that
    a dozen bars stay readable at phone width. Values are written over their bars while the
    largest fits its slot; past that, the axis and the table give them.
    """
    top, bottom, right = 20, 26, 16
    plot_height = 130
    height = top + plot_height + bottom
    axis_max = nice_ceiling(max(values, default=0)) or 1
    left = max(26, _text_width(str(axis_max), SMALL_FONT) + 10)
    slot = (WIDTH - left - right) / max(len(values), 1)
    bar_width = slot * 0.64
    values_fit = _text_width(str(max(values, default=0)), SMALL_FONT) <= slot
    body = []
    for tick in (0, axis_max // 2 if axis_max > 1 else None, axis_max):
        if tick is None:
            continue
        y = top + plot_height - plot_height * tick / axis_max
        css_class = "chart-axis" if tick == 0 else "chart-grid"
        body.append(
            f'<line x1="{_number(left)}" x2="{WIDTH - right}" y1="{_number(y)}" y2="{_number(y)}" '
            f'class="{css_class}"/>'
        )
        body.append(_text(left - 6, y + SMALL_FONT / 3, str(tick), "chart-text-muted", "end"))
    last = len(values) - 1
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        centre = left + slot * index + slot / 2
        bar_height = plot_height * value / axis_max
        if value:
            y = top + plot_height - bar_height
            body.append(_rect(centre - bar_width / 2, y, bar_width, bar_height, "chart-bar"))
            if values_fit:
                body.append(_text(centre, y - 5, str(value), "chart-value", "middle"))
        if (last - index) % label_every == 0:
            y = top + plot_height + SMALL_FONT + 6
            body.append(_text(centre, y, label, "chart-text-muted", "middle"))
    return _svg(height=height, name=name, css_class="chart-bars", body=body)


def funnel_chart(
    *,
    name: str,
    total_label: str,
    total: int,
    stages: Sequence[FunnelStage],
    legend: tuple[str, str],
) -> SafeString:
    """Horizontal bars, one row per stage under a first row for `total` (the full width).

    Each stage draws `reached` as a light bar with `finished` over it in full colour, and
    writes both numbers at the end of its label line, in the order of `legend` (their names).
    """
    bar_height, row = 14, 44
    scale = WIDTH / max(total, 1)
    body = []
    # The legend: a swatch and a word for each kind of bar, in the order of the numbers.
    reached_word, finished_word = legend
    body.append(_rect(0.5, 3.5, 13, 13, "chart-reached"))
    body.append(_text(20, 15, reached_word))
    finished_x = 20 + _text_width(reached_word, FONT) + 20
    body.append(_rect(finished_x, 3, 14, 14, "chart-bar"))
    body.append(_text(finished_x + 20, 15, finished_word))

    y = 28
    rows = [(total_label, total, None), *((s.label, s.reached, s.finished) for s in stages)]
    for label, reached, finished in rows:
        figures = str(reached) if finished is None else f"{reached} / {finished}"
        room = WIDTH - _text_width(figures, FONT) - 12
        body.append(_text(0, y + FONT, _cut(label, int(room / (FONT * CHARACTER_WIDTH)))))
        body.append(_text(WIDTH, y + FONT, figures, "chart-value", "end"))
        bar_y = y + FONT + 7
        if finished is None:
            body.append(_rect(0.5, bar_y, max(reached * scale - 1, 0), bar_height, "chart-total"))
        else:
            body.append(_rect(0, bar_y, WIDTH, bar_height, "chart-track"))
            if reached:
                width = max(reached * scale - 1, 1)
                body.append(_rect(0.5, bar_y, width, bar_height, "chart-reached"))
            if finished:
                body.append(_rect(0, bar_y, finished * scale, bar_height, "chart-bar"))
        y += row
    return _svg(height=y, name=name, css_class="chart-funnel", body=body)


@dataclass(frozen=True)
class ShareRow:
    """One row of a share chart: its label, its share in percent, and the figures to write."""

    label: str
    percent: float
    figures: str


def share_chart(*, name: str, rows: Sequence[ShareRow]) -> SafeString:
    """Horizontal bars on a 0–100 % scale, one row per share: its label (cut to fit) on a line
    with its figures at the end, then the bar over a full-width track."""
    bar_height, row = 14, 44
    body = []
    y = 0
    for share in rows:
        room = WIDTH - _text_width(share.figures, FONT) - 12
        body.append(_text(0, y + FONT, _cut(share.label, int(room / (FONT * CHARACTER_WIDTH)))))
        body.append(_text(WIDTH, y + FONT, share.figures, "chart-value", "end"))
        bar_y = y + FONT + 7
        body.append(_rect(0, bar_y, WIDTH, bar_height, "chart-track"))
        if share.percent > 0:
            width = max(WIDTH * min(share.percent, 100) / 100, 1)
            body.append(_rect(0, bar_y, width, bar_height, "chart-bar"))
        y += row
    return _svg(height=max(y, row), name=name, css_class="chart-shares", body=body)
