"""The plot in ``docs/bench_long_chat.png``: per-turn time, TTFT, ms per token, prompt size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks.long_chat.conversation import CALM
from benchmarks.long_chat.summary import seconds_per_token, summary
from benchmarks.long_chat.ways import LlmchatWay, SeedWay


def _line(ax: Any, style: tuple[list[int], list[str], str, str], values: list[Any], label: str) -> None:
    """A line, with filled markers for calm turns and hollow ones for the others."""
    x, faces, color, marker = style
    ax.plot(x, values, color=color, lw=1.2, label=label)
    ax.scatter(x, values, s=22, marker=marker, facecolors=faces, edgecolors=color, zorder=3)


def plot(
    app: LlmchatWay | None,
    seed: SeedWay | None,
    path: Path,
    n_ctx: int,
    pause: float | None = None,
    summing: LlmchatWay | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), sharex=True)
    (ax_s, ax_ttft), (ax_tok, ax_prompt) = axes
    styles = {
        "llmchat": ("tab:blue", "o", "llmchat"),
        "seed": ("tab:red", "s", "seed (whole history)"),
        "summarize": ("tab:green", "^", "llmchat, overflow: summarize"),
    }
    ways = [w for w in (app, seed, summing) if w]
    last = max(len(w.turns) for w in ways)
    first_fail = summary(seed.turns)["first_failed_turn"] if seed else None
    cuts = summary(app.turns)["cut_turns"] if app else []

    for way in ways:
        color, marker, label = styles[way.name]
        ok = [t for t in way.turns if not t.failed]
        bad = [t for t in way.turns if t.failed]
        x = [t.turn for t in ok]
        # Filled markers: calm turns; hollow: other processes used >= CALM cores during the turn.
        faces = [color if t.others_cores is not None and t.others_cores < CALM else "white" for t in ok]

        style = (x, faces, color, marker)
        _line(ax_s, style, [t.seconds for t in ok], label)
        _line(ax_ttft, style, [t.ttft for t in ok], label)
        _line(
            ax_tok,
            style,
            [1000 * s if (s := seconds_per_token(t)) else None for t in ok],
            f"{label}: turn s ÷ tokens",
        )
        decode = [t.decode_ms_per_token for t in ok]
        ax_tok.plot(x, decode, ls=":", color=color, label=f"{label}: decode only (server log)")
        ax_prompt.plot(
            x, [t.prompt_tokens for t in ok], marker=marker, ms=4, color=color, label=f"{label}: prompt"
        )
        evaluated = [t.prompt_evaluated for t in ok]
        ax_prompt.plot(
            x, evaluated, ls=":", color=color, label=f"{label}: evaluated (not in the prompt cache)"
        )
        if bad:
            xb = [t.turn for t in bad]
            ax_s.plot(  # along the bottom edge: each took only a few hundredths of a second
                xb,
                [0.04] * len(xb),
                "x",
                ms=8,
                color=color,
                transform=ax_s.get_xaxis_transform(),
                label=f"{label}: failed at once (empty answer)",
            )
            ax_prompt.plot(
                xb, [t.prompt_tokens for t in bad], "x", ms=8, color=color, label=f"{label}: rejected"
            )
    others = [(t.turn, t.others_cores or 0) for t in (app or seed).turns]
    twin = ax_s.twinx()
    twin.fill_between(
        [x for x, _ in others], [y for _, y in others], step="mid", color="gray", alpha=0.15, lw=0
    )
    twin.set_ylim(0, (os.cpu_count() or 2) * 2)
    twin.set_ylabel("other processes' CPU (cores), grey", color="gray", fontsize=8)
    for ax in axes.flat:
        if first_fail:
            ax.axvspan(first_fail - 0.5, last + 0.5, color="tab:red", alpha=0.06, lw=0)
        for i, turn in enumerate(cuts):
            label = "llmchat cut old turns" if i == 0 else None
            ax.axvline(turn, color="tab:blue", ls="--", lw=0.8, alpha=0.6, label=label)
        ax.grid(alpha=0.3)
        ax.set_xlim(0.5, last + 0.5)
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    for ax in (ax_s, ax_ttft, ax_tok):  # a log scale: load spikes reach 20-100x a calm turn
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        low, high = ax.get_ylim()
        ax.set_ylim(low, high * 5)  # room for the legend above the data
    ax_prompt.axhline(n_ctx, color="black", lw=1)
    ax_prompt.annotate(
        f"n_ctx = {n_ctx}",
        (last + 0.4, n_ctx),
        xytext=(0, 3),
        textcoords="offset points",
        ha="right",
        fontsize=8,
    )
    highest = max((t.prompt_tokens or 0 for w in ways for t in w.turns), default=0)
    ax_prompt.set_ylim(0, max(highest, n_ctx) * 1.08)
    hollow = {"marker": "o", "facecolors": "white", "edgecolors": "gray"}
    ax_s.scatter([], [], s=22, label=f"other processes used ≥ {CALM} cores", **hollow)
    for ax in axes.flat:
        ax.legend(fontsize=7, loc="upper left", ncol=1 if ax is ax_prompt else 2)
    if first_fail:
        wide = last - first_fail >= 6
        ax_ttft.annotate(
            "seed: every turn fails from here\n(prompt > n_ctx: 200 OK, empty stream)",
            (first_fail - 0.3 if wide else first_fail - 0.7, 0.8),
            xycoords=("data", "axes fraction"),
            va="top",
            ha="left" if wide else "right",
            fontsize=8,
            color="tab:red",
        )
    ax_s.set_ylabel("seconds per turn (submit → final answer)")
    ax_ttft.set_ylabel("time to first token, s")
    ax_tok.set_ylabel("ms per completion token")
    ax_prompt.set_ylabel("prompt tokens")
    ax_tok.set_xlabel("turn")
    ax_prompt.set_xlabel("turn")
    fig.suptitle(
        f"{last}-turn chat with SmolLM2-135M on llama_cpp.server (n_ctx {n_ctx}, max_tokens "
        f"{(app or seed).max_tokens}, {os.cpu_count()} cores): "
        + (
            "llmchat's context budget vs. the seed's Simple Chat"
            if seed
            else "llmchat, overflow: drop vs. overflow: summarize"
        )
        + (
            f"\n{pause:g} s reading time after each llmchat answer (its cache warm-up runs then)"
            if pause
            else ""
        ),
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
