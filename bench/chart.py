"""The latency chart of a benchmark run: p50, p90, p99 and max per chat scenario, as a PNG.

python -m bench.chart bench/results/latest.json bench/results/latency.png
"""

import argparse
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

PERCENTILES = ("p50", "p90", "p99", "max")
P99_TARGET_MS = 150


def _label(value: float) -> str:
    if math.isnan(value):
        return ""
    return f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def latency_chart(latencies: dict[str, dict], out: Path, *, title: str) -> Path | None:
    """Grouped bars per scenario (`latencies`: name -> {"p50": ms, ...}); None if no data."""
    scenarios = {name: values for name, values in latencies.items() if values.get("p50")}
    if not scenarios:
        return None
    names = list(scenarios)
    width = 0.8 / len(PERCENTILES)
    figure, axes = plt.subplots(figsize=(max(6.0, 2.2 * len(names) + 2), 4.8), dpi=110)
    for index, percentile in enumerate(PERCENTILES):
        values = [scenarios[name].get(percentile) or math.nan for name in names]
        offset = (index - (len(PERCENTILES) - 1) / 2) * width
        bars = axes.bar([x + offset for x in range(len(names))], values, width, label=percentile)
        axes.bar_label(bars, labels=[_label(v) for v in values], fontsize=7, padding=2)
    axes.axhline(
        P99_TARGET_MS, linestyle="--", linewidth=1, color="grey",
        label=f"chat latency p99 target ({P99_TARGET_MS} ms)",
    )  # fmt: skip
    axes.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axes.yaxis.set_major_formatter(plain)
    axes.yaxis.set_minor_formatter(plain)
    axes.set_ylabel("delivery latency, ms (log scale)")
    axes.set_xticks(range(len(names)), names)
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    axes.margins(y=0.15)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def report_latencies(report: dict) -> dict[str, dict]:
    """The latency percentiles of every chat scenario of a bench/run.py report (soak included)."""
    latencies = {name: result["latency_ms"] for name, result in report.get("chat", {}).items()}
    soak = report.get("soak") or {}
    if soak.get("latency_ms"):
        latencies["soak (chat)"] = soak["latency_ms"]
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="JSON written by bench/run.py")
    parser.add_argument("out", type=Path, help="PNG to write")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    title = f"{report.get('command', 'bench/run.py')}, {report['date']}, {report['machine']}"
    latency_chart(report_latencies(report), args.out, title=title)


if __name__ == "__main__":
    main()
