"""Server-drawn SVG charts: escaped text, an accessible name, a viewBox that scales."""

import re

import pytest

from courses.charts import (
    WIDTH,
    FunnelStage,
    ShareRow,
    bar_chart,
    funnel_chart,
    nice_ceiling,
    share_chart,
)

SCRIPT = "<script>alert('x')</script>"


def rect_sizes(svg: str, css_class: str, size: str) -> list[float]:
    """The `size` ("width" or "height") of each rect of `css_class`, in drawing order."""
    pattern = rf'{size}="([0-9.]+)"[^>]*class="{css_class}"'
    return [float(value) for value in re.findall(pattern, svg)]


def test_a_bar_chart_escapes_its_labels_and_name():
    svg = bar_chart(name=f"Chat of {SCRIPT}", labels=[SCRIPT, "b"], values=[3, 0], label_every=1)

    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in svg


def test_a_funnel_escapes_module_titles_and_its_legend():
    svg = funnel_chart(
        name=SCRIPT,
        total_label="Enrolled",
        total=2,
        stages=[FunnelStage(f'1. "{SCRIPT}"', reached=2, finished=1)],
        legend=(SCRIPT, "Finished"),
    )

    assert "<script>" not in svg
    assert "&quot;&lt;script&gt;" in svg


def test_a_chart_is_one_named_image_that_scales_with_its_box():
    svg = bar_chart(name="Messages per week", labels=["a"], values=[1])

    assert svg.startswith(f'<svg class="chart chart-bars" viewBox="0 0 {WIDTH} ')
    assert 'width="100%" role="img" aria-label="Messages per week"' in svg
    assert "<title>Messages per week</title>" in svg


def test_bars_are_as_tall_as_their_share_of_the_axis():
    svg = bar_chart(name="n", labels=["a", "b"], values=[10, 5])

    tall, short = rect_sizes(svg, "chart-bar", "height")

    assert tall == 2 * short


def test_a_zero_week_draws_no_bar_but_keeps_its_slot():
    svg = bar_chart(name="n", labels=["a", "b", "c"], values=[0, 0, 0], label_every=1)

    assert "<rect" not in svg
    assert svg.count('text-anchor="middle"') == 3


def test_funnel_bars_are_widths_relative_to_the_enrolled_students():
    svg = funnel_chart(
        name="n",
        total_label="Enrolled",
        total=4,
        stages=[FunnelStage("1. A", reached=2, finished=1)],
        legend=("Reached", "Finished"),
    )

    # After the legend's swatches.
    reached = rect_sizes(svg, "chart-reached", "width")[-1]
    finished = rect_sizes(svg, "chart-bar", "width")[-1]

    assert finished == WIDTH / 4
    assert reached == pytest.approx(WIDTH / 2, abs=1)


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (120, 200), (500, 500)]
)
def test_the_axis_ends_at_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_values_too_wide_for_their_bars_are_left_to_the_axis_and_the_table():
    svg = bar_chart(name="n", labels=list("abcdefghijkl"), values=[12345] * 12)

    assert 'class="chart-value"' not in svg
    assert ">20000</text>" in svg


def test_the_value_axis_makes_room_for_its_longest_number():
    narrow = bar_chart(name="n", labels=["a"], values=[5])
    wide = bar_chart(name="n", labels=["a"], values=[12345])

    def axis_start(svg):
        return float(re.search(r'<line x1="([0-9.]+)"', svg).group(1))

    assert axis_start(wide) > axis_start(narrow)
    # The numbers end left of the axis and start inside the drawing.
    assert float(re.search(r'<text x="([0-9.]+)"', wide).group(1)) < axis_start(wide)
    assert axis_start(wide) - 6 - len("20000") * 13 * 0.58 >= 0


def test_a_share_chart_escapes_its_labels():
    svg = share_chart(name=SCRIPT, rows=[ShareRow(SCRIPT, 50, "50 % of 2")])

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_share_bars_are_widths_relative_to_100_percent():
    svg = share_chart(name="Wrong answers", rows=[ShareRow("a", 100, "1"), ShareRow("b", 25, "1")])

    assert rect_sizes(svg, "chart-bar", "width") == [WIDTH, WIDTH / 4]
