"""The plot in ``docs/bench_stream.png``: time vs answer length, and TTFT vs visitors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.stream_bench.crowd import Crowd
from benchmarks.stream_bench.figures import TARGET_BROWSER_AFTER_LAST_S, TARGET_CROWD_P95_S, med


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    series = [
        ("direct openai client", res["direct"], "total", "o-"),
        ("through the app API (gradio_client)", res["api"], "total", "s-"),
        ("browser: Enter -> answer fully shown", res.get("browser", {}), "total", "^-"),
        ("browser: fully shown after server's last token", res.get("browser", {}), "after_last", "v--"),
    ]
    for label, data, attr, style in series:
        if data:
            xs = sorted(data)
            left.plot(xs, [med(data[x], attr) for x in xs], style, label=label)
    left.plot(
        [4000],
        [TARGET_BROWSER_AFTER_LAST_S],
        "r_",
        ms=20,
        mew=2,
        label="target: shown <= 1.5 s after last token",
    )
    left.set_xlabel("answer length (tokens)")
    left.set_ylabel("seconds (median)")
    left.set_title("Time to the complete answer (LLM server at unlimited rate)")
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    left.legend(fontsize=8)

    crowds: list[Crowd] = res.get("crowd", [])
    for conc in sorted({c.concurrency for c in crowds}):
        cs = sorted((c for c in crowds if c.concurrency == conc), key=lambda c: c.visitors)
        xs = [c.visitors for c in cs]
        right.plot(xs, [c.med("p50") * 1000 for c in cs], "o-", label=f"p50, --concurrency {conc}")
        right.plot(xs, [c.med("p95") * 1000 for c in cs], "s--", label=f"p95, --concurrency {conc}")
    if res["direct"].get(4000):
        right.axhline(med(res["direct"][4000], "ttft") * 1000, color="k", lw=0.8, label="direct client TTFT")
    for visitors, target in TARGET_CROWD_P95_S.items():
        right.plot([visitors], [target * 1000], "r_", ms=20, mew=2)
    right.plot([], [], "r_", ms=10, mew=2, label="p95 target")
    right.set_xlabel("visitors sending at the same moment")
    right.set_ylabel("time to first token through the app (ms, log)")
    right.set_yscale("log")
    per_token = res.get("crowd_delay", 0) * 1000
    right.set_title(
        f"TTFT vs concurrent visitors ({res.get('crowd_tokens')} tokens at {per_token:.0f} ms/token)"
    )
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
