"""The command line: start the fake LLM server, the app and Chromium; run the three parts; print
the figures against issue 13's targets; write the JSON."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import long_history
from benchmarks.common.bench_app import App
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.common.machine import OthersMeter
from benchmarks.common.paths import ROOT
from benchmarks.common.stats import median
from benchmarks.long_history.history import conversation, many, storage
from benchmarks.long_history.page import Visit, warm_up
from benchmarks.stream_bench.cli import deadline
from benchmarks.stream_bench.texts import mixed_text
from llmchat.settings import DEFAULT_CONCURRENCY
from llmchat.testing.chromium import CHROMIUM, CHROMIUM_ARGS

DEFAULT_JSON = ROOT / "docs" / "bench_long_history.json"
TURNS = 100
TOKENS = 2000
SAVED = 200


def stream_part(
    browser: Any, app: App, llm: LLMServer, runs: list[int], profile: bool
) -> dict[str, list[Any]]:
    """(a) A 2,000-token answer in an empty conversation and after ``TURNS`` earlier turns; the
    two cases alternate (which goes first too), so each pair meets the same machine."""
    text = mixed_text(TOKENS)
    long_items = storage([conversation("longA", "Long", TURNS, 1_700_000_000_000, "END-OF-longA")], "longA")
    out: dict[str, list[Any]] = {"empty": [], "long": []}
    for run in runs:
        cases = ["empty", "long"] if run % 2 == 0 else ["long", "empty"]
        for case in cases:
            visit = Visit(browser, app.url, long_items if case == "long" else {})
            try:
                if case == "long":
                    visit.wait_shown("END-OF-longA", TURNS)
                warm_up(visit, llm)
                cpu0 = app.cpu_seconds()
                got = visit.ask(llm, text, f"Answer #{run} with {TOKENS} tokens.", profile and run == 0)
                got["app_cpu"] = app.cpu_seconds() - cpu0
            finally:
                visit.close()
            log(
                f"  {case:5s} run {run}: after last token {got['after_last']:.3f} s, Enter->shown "
                f"{got['total']:.3f} s, main thread {got['main_thread']:.3f} s {got['note']}"
            )
            out[case].append(got)
    return out


def switch_part(browser: Any, app: App, runs: list[int], switches: int) -> dict[str, list[float]]:
    """(b) ``SAVED`` saved conversations, two of them ``TURNS`` turns long: click one in the list
    (nothing open before), then switch between the two ``switches`` times."""
    items = storage(many(SAVED, ("longA", "longB"), TURNS))
    out: dict[str, list[float]] = {"open": [], "open_main_thread": [], "switch": [], "switch_main_thread": []}
    for run in runs:
        visit = Visit(browser, app.url, items, SAVED)
        try:
            visit.loaded()
            visit.settle(1.5)
            got = visit.open_item("longA", "END-OF-longA", TURNS)
            out["open"].append(got["seconds"])
            out["open_main_thread"].append(got["main_thread"])
            log(f"  open run {run}: {got['seconds']:.3f} s (main thread {got['main_thread']:.3f} s)")
            for k in range(switches):
                visit.settle(2.0)
                cid = "longB" if k % 2 == 0 else "longA"
                got = visit.open_item(cid, f"END-OF-{cid}", TURNS)
                out["switch"].append(got["seconds"])
                out["switch_main_thread"].append(got["main_thread"])
                log(f"  switch -> {cid}: {got['seconds']:.3f} s (main thread {got['main_thread']:.3f} s)")
        finally:
            visit.close()
    return out


def load_part(browser: Any, app: App, runs: list[int]) -> dict[int, list[dict[str, float]]]:
    """(c) The page's load (a tab opened anew) with 0 and ``SAVED`` saved conversations."""
    from benchmarks.long_history.page import task_seconds

    items = storage(many(SAVED, ("longA", "longB"), TURNS))
    out: dict[int, list[dict[str, float]]] = {0: [], SAVED: []}
    for run in runs:
        for count in [0, SAVED] if run % 2 == 0 else [SAVED, 0]:
            visit = Visit(browser, app.url, items if count else {}, count)
            try:
                got = visit.loaded()
                got["main_thread"] = task_seconds(visit.cdp)
            finally:
                visit.close()
            log(f"  {count:3d} saved, run {run}: input {got['input']:.3f} s, list {got['list']:.3f} s")
            out[count].append(got)
    return out


def summary(res: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The figures against the targets, as text and as rows for the JSON."""
    rows: list[dict[str, Any]] = []

    def row(figure: str, value: float, target: str, met: bool | None, unit: str = "s") -> None:
        rows.append({"figure": figure, "measured": value, "unit": unit, "target": target, "met": met})

    if "stream" in res:
        s = res["stream"]
        empty = median([r["after_last"] for r in s["empty"]])
        long = median([r["after_last"] for r in s["long"]])
        ratios = [b["after_last"] / a["after_last"] for a, b in zip(s["empty"], s["long"], strict=True)]
        row(f"{TOKENS} tokens, last token -> shown, empty conversation", empty, "", None)
        row(f"{TOKENS} tokens, last token -> shown, after {TURNS} turns", long, "", None)
        row("  ratio (median of per-run ratios)", median(ratios), "<= 1.5x", median(ratios) <= 1.5, "x")
        for case in ("empty", "long"):
            row(f"Enter -> shown, {case}", median([r["total"] for r in s[case]]), "", None)
        me = median([r["main_thread"] for r in s["empty"]])
        ml = median([r["main_thread"] for r in s["long"]])
        row("renderer main thread, Enter -> shown, empty", me, "", None)
        row(f"renderer main thread, Enter -> shown, after {TURNS} turns", ml, "", None)
        row("  ratio", ml / me, "", None, "x")
        exact = all(r["exact"] for case in s.values() for r in case)
        row("answers exact", float(exact), "all", exact, "")
    if "switch" in res:
        w = res["switch"]
        row(
            f"open a {TURNS}-turn conversation from the list",
            median(w["open"]),
            "< 0.5 s",
            median(w["open"]) < 0.5,
        )
        row("  its main-thread time", median(w["open_main_thread"]), "", None)
        row(
            f"switch between two {TURNS}-turn conversations",
            median(w["switch"]),
            "< 0.5 s",
            median(w["switch"]) < 0.5,
        )
        row("  its main-thread time", median(w["switch_main_thread"]), "", None)
    if "load" in res:
        ld = res["load"]
        for key in ("input", "list", "main_thread"):
            a, b = median([r[key] for r in ld[0]]), median([r[key] for r in ld[SAVED]])
            what = {"input": "input usable", "list": "list drawn", "main_thread": "main thread until then"}[
                key
            ]
            row(f"page load, {what}, 0 saved", a, "", None)
            if key == "input":
                row(f"page load, {what}, {SAVED} saved", b, "<= 1.1x of 0 saved", b <= 1.1 * a)
            else:
                row(f"page load, {what}, {SAVED} saved", b, "", None)
    lines = []
    for r in rows:
        value = f"{r['measured']:.3f} {r['unit']}".strip() if r["unit"] != "" else str(bool(r["measured"]))
        met = "" if r["met"] is None else ("met" if r["met"] else "NOT MET")
        lines.append(f"{r['figure']:62s} {value:>10s}  {r['target']:>20s}  {met}")
    return "\n".join(lines), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.long_history", description=long_history.__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--switches", type=int, default=4, help="switches per run (default 4)")
    parser.add_argument("--skip", default="", help="comma list of: stream, switch, load")
    parser.add_argument("--profile", action="store_true", help="CPU profile of the first long-history answer")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="checkout to run (default: this one)")
    parser.add_argument(
        "--ab",
        type=Path,
        help="another checkout (e.g. a copy before a change): every part runs on both, turn about",
    )
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default {DEFAULT_JSON}")
    parser.add_argument("--max-seconds", type=int, default=1200)
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    from playwright.sync_api import sync_playwright

    began = time.monotonic()
    dirs = {"this": args.app_dir, **({"ab": args.ab} if args.ab else {})}
    res: dict[str, Any] = {
        "runs": args.runs,
        "app_dirs": {k: str(v) for k, v in dirs.items()},
        "loadavg_before": _loadavg(),
        "apps": {k: {} for k in dirs},
    }
    others = OthersMeter()
    work = Path(tempfile.mkdtemp(prefix="llmchat-longhist-"))
    llm = None
    apps: dict[str, App] = {}
    parts = [
        (
            "stream",
            f"(a) {TOKENS}-token answer: empty vs {TURNS} turns",
            lambda b, app, runs: stream_part(b, app, llm, runs, args.profile and runs == [0]),
        ),
        (
            "switch",
            f"(b) open and switch, {SAVED} saved conversations",
            lambda b, app, runs: switch_part(b, app, runs, args.switches),
        ),
        ("load", f"(c) page load: 0 vs {SAVED} saved conversations", load_part),
    ]
    try:
        with deadline(args.max_seconds), sync_playwright() as pw:
            llm = LLMServer(work / "llm-server.log")
            for name, folder in dirs.items():
                apps[name] = App(llm, DEFAULT_CONCURRENCY, work, folder, name=name)
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                for part, title, run_part in parts:
                    if part in skip:
                        continue
                    # One run of each app in turn, so both meet the same load on the machine.
                    log(title)
                    for run in range(args.runs):
                        for name in list(dirs) if run % 2 == 0 else list(dirs)[::-1]:
                            log(f" {name}, run {run}")
                            got = run_part(browser, apps[name], [run])
                            mine = res["apps"][name].setdefault(part, {k: [] for k in got})
                            for key, values in got.items():
                                mine[key].extend(values)
            finally:
                browser.close()
    finally:
        for app in apps.values():
            app.stop()
        if llm is not None:
            llm.stop()
    res["others_cpu_share"] = others.share()
    res["loadavg_after"] = _loadavg()
    text = ""
    for name in dirs:
        table, rows = summary(res["apps"][name])
        res["apps"][name]["figures"] = rows
        text += f"\n{name}: {dirs[name]}\n{table}\n"
    rows = res["apps"]["this"]["figures"]
    print(text)
    share = res["others_cpu_share"]
    print(
        f"\n({time.monotonic() - began:.0f} s; {os.cpu_count()} CPUs, other processes "
        f"used {'?' if share is None else f'{share * 100:.0f} %'}; load average {res['loadavg_before']} -> "
        f"{res['loadavg_after']}; logs in {work})"
    )
    args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False))
    print(f"json: {args.json}")
    return 0 if all(r["met"] is not False for r in rows) else 1


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
