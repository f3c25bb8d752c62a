"""The command line: run the ways (or replot an earlier run), print the tables, write the files."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import long_chat
from benchmarks.common.paths import ROOT
from benchmarks.long_chat.conversation import (
    MAX_TOKENS,
    MESSAGES,
    N_CTX,
    QUICK_TURNS,
    READING_PAUSE,
    TARGET_RATIO,
)
from benchmarks.long_chat.plot import plot
from benchmarks.long_chat.run import run
from benchmarks.long_chat.summary import fmt, summary
from benchmarks.long_chat.tables import markdown, overflow_table
from benchmarks.long_chat.turn import Turn
from benchmarks.long_chat.ways import LlmchatWay, SeedWay, SummarizeWay

DEFAULT_PNG = ROOT / "docs" / "bench_long_chat.png"


def load_json(
    path: Path,
) -> tuple[LlmchatWay | None, SeedWay | None, SummarizeWay | None, dict[str, Any]]:
    """The ways of an earlier run, from its --json file."""
    data = json.loads(path.read_text())
    ways: dict[str, Any] = {}
    for cls in (LlmchatWay, SeedWay, SummarizeWay):
        if cls.name in data["ways"]:
            way = cls(data["n_ctx"], data["max_tokens"])
            way.turns = [Turn(**t) for t in data["ways"][cls.name]["turns"]]
            ways[cls.name] = way
    return ways.get("llmchat"), ways.get("seed"), ways.get("summarize"), data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.long_chat", description=long_chat.__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--turns", type=int, default=30, help="turns per conversation, at most 30 (default 30)"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_TURNS} turns; no plot unless --png is given"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=MAX_TOKENS, help=f"answer length cap (default {MAX_TOKENS})"
    )
    parser.add_argument("--ways", choices=["both", "llmchat", "seed"], default="both")
    parser.add_argument(
        "--summarize",
        action="store_true",
        help="also hold the conversation with llmchat's `overflow: summarize` (a third app and server)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=READING_PAUSE,
        help=f"seconds the visitor reads each llmchat answer before the next message (default "
        f"{READING_PAUSE:g}; 0 = the next message the instant the answer ends)",
    )
    parser.add_argument("--order", choices=["interleaved", "sequential"], default="interleaved")
    parser.add_argument(
        "--threads",
        type=int,
        help="llama.cpp threads per server (default: llmchat's, every core; 1 is far steadier when "
        "other processes compete for a 2-core machine)",
    )
    parser.add_argument(
        "--png",
        type=Path,
        help=f"the plot (default: {DEFAULT_PNG.relative_to(ROOT)} for a full 30-turn run of both ways)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure and answer here")
    parser.add_argument(
        "--replot", type=Path, metavar="JSON", help="only print the tables and plot an earlier --json run"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.turns <= len(MESSAGES):
        parser.error(f"--turns must be 1 to {len(MESSAGES)}")

    if args.replot:
        app, seed, summing, data = load_json(args.replot)
        turns, max_tokens, order, png = len(data["messages"]), data["max_tokens"], data["order"], args.png
        threads = data.get("threads")
        pause = data.get("pause")
        print(f"load average before: {data.get('load_before', '?')}; after: {data.get('load_after', '?')}")
    else:
        turns = QUICK_TURNS if args.quick and args.turns == 30 else args.turns
        max_tokens, order, threads, pause = args.max_tokens, args.order, args.threads, args.pause
        full = turns == len(MESSAGES) and args.ways == "both"  # only a full run replaces the docs' plot
        png = args.png or (DEFAULT_PNG if full else None)
        app = LlmchatWay(N_CTX, max_tokens, args.threads) if args.ways in ("both", "llmchat") else None
        seed = SeedWay(N_CTX, max_tokens, args.threads) if args.ways in ("both", "seed") else None
        summing = SummarizeWay(N_CTX, max_tokens, args.threads) if args.summarize else None
        load_before = Path("/proc/loadavg").read_text().strip()
        print(f"load average before: {load_before} ({os.cpu_count()} cores)", flush=True)
        began = time.monotonic()
        run([w for w in (app, seed, summing) if w], MESSAGES[:turns], order, args.pause)
        load_after = Path("/proc/loadavg").read_text().strip()
        print(f"load average after: {load_after}; {time.monotonic() - began:.0f} s")

    print(
        f"\nSmolLM2-135M on llama_cpp.server (n_ctx {N_CTX}), max_tokens {max_tokens}, temperature 0, "
        f"{turns} turns, {order}, llama.cpp threads: {threads or 'every core'}. s = submit → final answer; "
        "TTFT = submit → first answer text at the "
        "client; prompt = tokens the server saw (evaluated = not in its prompt cache); other load = cores "
        "used by other processes during the turn (llmchat / seed).\n"
    )
    print(markdown(app, seed, N_CTX, max_tokens))
    print()
    if summing:
        print(overflow_table(app, summing))
        print()
    status = 0
    if app:
        s = summary(app.turns)
        print(
            f"llmchat: turn {turns} / turn 1 = {fmt(s['ratio_last_first'])}× (target ≤ {TARGET_RATIO}×); "
            f"median of turns {turns - 2}–{turns} / median of turns 1–3: {fmt(s['ratio_s'])}× seconds per "
            f"turn, {fmt(s['ratio_ttft'])}× TTFT, {fmt(s['ratio_s_per_token'])}× seconds per completion "
            f"token; failed turns: {s['failed']}"
        )
        if s["failed"]:
            status = 1
    if args.json and not args.replot:
        data = {
            "n_ctx": N_CTX,
            "max_tokens": max_tokens,
            "order": order,
            "threads": args.threads,
            "pause": args.pause,
            "load_before": load_before,
            "load_after": load_after,
            "messages": MESSAGES[:turns],
            "ways": {
                w.name: {"summary": summary(w.turns), "turns": [asdict(t) for t in w.turns]}
                for w in (app, seed, summing)
                if w
            },
        }
        args.json.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        print(f"data: {args.json}")
    if png:  # after the data: a missing matplotlib must not lose a long run's figures
        try:
            plot(app, seed, png, N_CTX, pause, summing)
            print(f"plot: {png}")
        except ImportError as exc:
            print(f"no plot ({exc}); the figures are in the tables above (and --json)")
    return status
