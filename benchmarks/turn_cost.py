"""What one turn costs the app when 100 visitors arrive together (issue 12, part 8).

Run ``.venv/bin/python -m benchmarks.turn_cost`` (about 3 minutes; ``--rounds``, ``--visitors``,
``--props``, ``--profile``, ``--json PATH``). It starts, all on 127.0.0.1 and all stopped again:

- the fake LLM server (``benchmarks.llm_server``) in a child process; by default without
  llama.cpp's ``/props`` and tokenizer (the app then probes ``/props``, learns nothing, and sends
  every turn as it is); ``--props`` serves both, so every turn also has its prompt counted;
- for every round a fresh app (``gradio_app.py``, default ``--concurrency``) in a child process,
  so every round meets the app as 100 visitors arriving together find it after a start (or once
  ``PROBE_TTL`` has passed): nothing probed yet. A first visitor sends an empty message, which
  warms Gradio's event path and reaches no server (checked).

Each round, in alternating order:

- *direct*: ``--visitors`` plain ``openai.AsyncOpenAI`` streams at once against the LLM server
  (one client, its typed chunk objects, as a script would do it); TTFT = call -> first text;
- *app, cold*: the same number of visitors through the app at once, each its own Gradio session,
  read at the bytes of Gradio's queue stream (``benchmarks.common.gradio_queue``); TTFT = POST
  ``queue/join`` -> first answer text. The app's CPU seconds (``/proc``, all threads) over the
  round divided by the visitors is *app CPU per turn* (streaming included);

then *app, warm*: the same crowd again in the same app (probes cached), which separates the cost
of probing from the rest. Every answer is ``--tokens`` (200) tokens at ``--delay`` (20 ms) a
token, a different text for every visitor; a wrong text (final or streamed) is counted. What the
app asked the LLM server is read from its request log: requests by path and how many
connections (client ports) they came on.

``--profile`` adds one round (not in the figures) in which py-spy samples the app during the
cold crowd and prints where its CPU went (``benchmarks.stream_bench.py_spy``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common.bench_app import App
from benchmarks.common.gradio_queue import chat_template, visit
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.common.machine import OthersMeter, cpu_speed_ms, load1
from benchmarks.common.stats import median, percentile
from benchmarks.stream_bench.py_spy import find_py_spy, py_spy_record, summarize_profile
from benchmarks.stream_bench.report import table
from benchmarks.stream_bench.texts import crowd_reply
from llmchat.cli import DEFAULT_CONCURRENCY

CHAT = "/v1/chat/completions"
TARGET_EXTRA_P95_S = 0.5  # app TTFT p95 <= direct p95 + 0.5 s
TARGET_CPU_MS_PER_TURN = 10.0


async def _direct_one(client: Any, message: str) -> tuple[float, str]:
    start = time.monotonic()
    first = None
    parts: list[str] = []
    stream = await client.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": message}], stream=True
    )
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                if first is None:
                    first = time.monotonic()
                parts.append(chunk.choices[0].delta.content)
    return (first or time.monotonic()) - start, "".join(parts)


async def direct_crowd(base_url: str, messages: list[str]) -> list[tuple[float, str]]:
    """Every message at once through one plain ``openai`` client (fresh, so its pool is cold)."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, timeout=120)
    try:
        return await asyncio.wait_for(asyncio.gather(*(_direct_one(client, m) for m in messages)), 180)
    finally:
        await client.close()


async def app_crowd(app: App, fn_index: int, template: list[Any], messages: list[str]) -> list[Any]:
    n = len(messages)
    limits = httpx.Limits(max_connections=2 * n + 10, max_keepalive_connections=2 * n + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120), limits=limits) as http:
        return await asyncio.wait_for(
            asyncio.gather(*(visit(http, app.url, fn_index, template, m) for m in messages)), 180
        )


def server_requests(llm: LLMServer) -> dict[str, Any]:
    """What reached the LLM server since the last clear: requests by path, connections used."""
    seen = llm.requests()
    paths = Counter(path for _, path, _ in seen)
    probe_ports = {port for _, path, port in seen if path != CHAT}
    return {
        "paths": dict(paths),
        "connections": len({port for *_, port in seen}),
        "probe_connections": len(probe_ports),
    }


def app_step(
    app: App, llm: LLMServer, fn_index: int, template: list[Any], messages: list[str], expected: list[str]
) -> dict[str, Any]:
    llm.clear()
    cpu0 = app.cpu_seconds()
    visits = asyncio.run(app_crowd(app, fn_index, template, messages))
    cpu = app.cpu_seconds() - cpu0
    ttfts = [v.ttft for v in visits]
    wrong = sum(
        1 for k, v in enumerate(visits) if v.error or v.text != expected[k] or v.streamed != expected[k]
    )
    return {
        "p50": percentile(ttfts, 50),
        "p95": percentile(ttfts, 95),
        "max": max(ttfts),
        "cpu_ms_per_turn": cpu / len(messages) * 1000,
        "updates": median([v.updates for v in visits]),
        "wrong": wrong,
        "errors": sorted({v.error for v in visits if v.error})[:3],
        "server": server_requests(llm),
    }


def profiled_step(
    app: App,
    llm: LLMServer,
    fn_index: int,
    template: list[Any],
    messages: list[str],
    expected: list[str],
    py_spy: str | None,
    raw: Path,
) -> dict[str, Any]:
    """:func:`app_step`, sampled by py-spy when ``py_spy`` is given (its summary in ``profile``)."""
    if not py_spy:
        return app_step(app, llm, fn_index, template, messages, expected)
    with py_spy_record(py_spy, app.proc.pid, raw):
        cpu0, wall0 = app.cpu_seconds(), time.monotonic()
        step = app_step(app, llm, fn_index, template, messages, expected)
        cpu, wall = app.cpu_seconds() - cpu0, time.monotonic() - wall0
    if raw.exists():
        step["profile"] = summarize_profile(raw, cpu, wall, len(messages))
        step["profile"]["raw"] = str(raw)
    return step


def crowd_messages(n: int, tokens: int, delay: float) -> tuple[list[str], list[str]]:
    expected = [crowd_reply(k, tokens) for k in range(n)]
    return [f'[[test reply="{expected[k]}" delay={delay}]] visitor {k}' for k in range(n)], expected


def one_round(
    llm: LLMServer,
    work: Path,
    label: str,
    app_dir: Path,
    index: int,
    args: argparse.Namespace,
    py_spy: str | None = None,
) -> dict[str, Any]:
    """A fresh app; the direct crowd and the app's cold crowd (alternating order), then a warm one."""
    messages, expected = crowd_messages(args.visitors, args.tokens, args.delay)
    work = work / label
    work.mkdir(exist_ok=True)
    app = App(llm, DEFAULT_CONCURRENCY, work, app_dir, name=f"round{index}-")
    result: dict[str, Any] = {"round": index, "load1_before": load1()}
    try:
        fn_index, template = chat_template(app)
        llm.clear()
        asyncio.run(app_crowd(app, fn_index, template, [""]))  # warms Gradio, reaches no server
        result["warmup_requests"] = len(llm.requests())
        time.sleep(0.5)
        order = ["direct", "app"] if index % 2 else ["app", "direct"]
        result["order"] = order
        for step in order:
            if step == "direct":
                answers = asyncio.run(direct_crowd(llm.base_url, messages))
                ttfts = [t for t, _ in answers]
                result["direct"] = {
                    "p50": percentile(ttfts, 50),
                    "p95": percentile(ttfts, 95),
                    "max": max(ttfts),
                    "wrong": sum(1 for k, (_, text) in enumerate(answers) if text != expected[k]),
                }
            else:
                result["cold"] = profiled_step(
                    app,
                    llm,
                    fn_index,
                    template,
                    messages,
                    expected,
                    py_spy,
                    work / f"profile-round{index}-cold.txt",
                )
        time.sleep(0.5)
        result["warm"] = profiled_step(
            app, llm, fn_index, template, messages, expected, py_spy, work / f"profile-round{index}-warm.txt"
        )
    finally:
        app.stop()
    return result


def summarize(rounds: list[dict[str, Any]]) -> dict[str, float]:
    def med(part: str, key: str) -> float:
        return median([r[part][key] for r in rounds if part in r])

    return {
        "direct_p95": med("direct", "p95"),
        "cold_p95": med("cold", "p95"),
        "extra_p95": median([r["cold"]["p95"] - r["direct"]["p95"] for r in rounds]),
        "cold_cpu_ms_per_turn": med("cold", "cpu_ms_per_turn"),
        "warm_cpu_ms_per_turn": med("warm", "cpu_ms_per_turn"),
        "warm_p95": med("warm", "p95"),
    }


def report(res: dict[str, Any]) -> tuple[str, bool]:
    """One section per app checkout; whether every one met the targets."""
    out = [
        f"Per-turn cost: {res['visitors']} visitors at once, {res['tokens']} tokens each at "
        f"{res['delay'] * 1000:.0f} ms a token; test server {'with' if res['props'] else 'without'} "
        "/props and tokenizer; a fresh app each round"
    ]
    passed = True
    for label, run in res["apps"].items():
        out += ["", f"== app {label} ({run['dir']}): {len(run['rounds'])} rounds"]
        text, ok = app_report(run)
        out.append(text)
        passed = passed and ok
    return "\n".join(out), passed


def app_report(run: dict[str, Any]) -> tuple[str, bool]:
    rounds = run["rounds"]
    out: list[str] = []
    if not rounds:
        return "\n".join(profile_lines(run.get("profile"))), False
    rows = []
    for r in rounds:
        cold, warm, direct = r["cold"], r.get("warm", {}), r["direct"]
        paths = cold["server"]["paths"]
        probes = ", ".join(f"{p} {n}" for p, n in sorted(paths.items()) if p != CHAT) or "none"
        rows.append(
            [
                f"{r['round']} ({r['order'][0]} first)",
                f"{r['load1_before']:.1f}",
                f"{direct['p50']:.2f} / {direct['p95']:.2f}",
                f"{cold['p50']:.2f} / {cold['p95']:.2f}",
                f"{cold['p95'] - direct['p95']:+.2f}",
                f"{cold['cpu_ms_per_turn']:.1f} ({cold['updates']:.0f})",
                f"{warm.get('cpu_ms_per_turn', float('nan')):.1f} ({warm.get('updates', 0):.0f})",
                f"{warm.get('p95', float('nan')):.2f}",
                probes,
                f"{cold['server']['probe_connections']} / {cold['server']['connections']}",
                f"{direct['wrong'] + cold['wrong'] + warm.get('wrong', 0)}",
            ]
        )
    out.append(
        table(
            rows,
            [
                "round",
                "load",
                "direct p50/p95 s",
                "app cold p50/p95 s",
                "p95 - direct",
                "cold CPU ms/turn (updates)",
                "warm CPU ms/turn (updates)",
                "warm p95 s",
                "probes at the server (cold)",
                "connections: probes / all",
                "wrong",
            ],
        )
    )
    s = summarize(rounds)
    ok_ttft = s["extra_p95"] <= TARGET_EXTRA_P95_S
    ok_cpu = s["cold_cpu_ms_per_turn"] <= TARGET_CPU_MS_PER_TURN
    wrong = sum(r["direct"]["wrong"] + r["cold"]["wrong"] + r.get("warm", {}).get("wrong", 0) for r in rounds)
    out.append("")
    out.append(
        table(
            [
                [
                    "app TTFT p95 - direct p95 (cold app)",
                    f"{s['cold_p95']:.2f} - {s['direct_p95']:.2f} s: {s['extra_p95']:+.2f} s",
                    f"<= +{TARGET_EXTRA_P95_S} s",
                    "PASS" if ok_ttft else "FAIL",
                ],
                [
                    "app CPU per turn, streaming included (cold app)",
                    f"{s['cold_cpu_ms_per_turn']:.1f} ms (warm: {s['warm_cpu_ms_per_turn']:.1f} ms)",
                    f"<= {TARGET_CPU_MS_PER_TURN:.0f} ms",
                    "PASS" if ok_cpu else "FAIL",
                ],
                ["wrong texts", f"{wrong}", "0", "PASS" if wrong == 0 else "FAIL"],
            ],
            [f"medians of {len(rounds)} rounds", "measured", "target", ""],
        )
    )
    errors = sorted(
        {e for r in rounds for part in ("cold", "warm") for e in r.get(part, {}).get("errors", [])}
    )
    if errors:
        out.append("errors: " + "; ".join(errors)[:500])
    out += profile_lines(run.get("profile"))
    return "\n".join(out), ok_ttft and ok_cpu and wrong == 0


def profile_lines(profiles: dict[str, Any] | None) -> list[str]:
    out: list[str] = []
    for part, prof in (profiles or {}).items():
        if not prof:
            continue
        per_turn = prof["cpu_s"] / prof["tokens"] * 1000  # "tokens" counts the turns here
        out += [
            "",
            f"Profile of the {part} crowd (an extra round; py-spy, {prof['samples']} busy samples; app CPU "
            f"{prof['cpu_s']:.2f} s = {per_turn:.1f} ms per turn; {prof['raw']}):",
            table(
                [
                    [c["category"], f"{c['share'] * 100:.1f} %", f"{c['share'] * per_turn:.2f} ms"]
                    for c in prof["categories"]
                ],
                ["category", "share", "per turn"],
            ),
            "",
            table(
                [[f["function"][:100], f"{f['share'] * 100:.1f} %"] for f in prof["top_functions"]],
                ["leaf function", "share"],
            ),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.turn_cost", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--visitors", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between tokens")
    parser.add_argument("--props", action="store_true", help="the LLM server serves /props and a tokenizer")
    parser.add_argument("--profile", action="store_true", help="one more round under py-spy")
    parser.add_argument(
        "--app-dir",
        action="append",
        default=[],
        metavar="[LABEL=]DIR",
        help="a checkout whose gradio_app.py to run; give several to compare them round by round "
        "(default: this one)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    apps: dict[str, Path] = {}
    for given in args.app_dir or [str(Path(__file__).resolve().parents[1])]:
        label, _, path = given.rpartition("=")
        apps[label or Path(path).name] = Path(path).resolve()
    py_spy = find_py_spy() if args.profile else None
    if args.profile and py_spy is None:
        parser.error("--profile needs py-spy (pip install py-spy)")
    work = Path(tempfile.mkdtemp(prefix="llmchat-turn-cost-"))
    log(f"logs and scratch files in {work}")
    res: dict[str, Any] = {
        "visitors": args.visitors,
        "tokens": args.tokens,
        "delay": args.delay,
        "props": args.props,
        "apps": {label: {"dir": str(path), "rounds": []} for label, path in apps.items()},
        "load1_start": load1(),
        "cpu_speed_ms_start": cpu_speed_ms(),
    }
    others = OthersMeter()
    llm = LLMServer(work / "llm-server.log")
    try:
        if args.props:
            llm.configure(n_ctx=32768, tokenizer="llama.cpp")
        labels = list(apps)
        for i in range(args.rounds):
            shift = i % len(labels)
            for label in labels[shift:] + labels[:shift]:  # every app goes first in turn
                log(f"round {i + 1}/{args.rounds}: {label}")
                run = res["apps"][label]
                run["rounds"].append(one_round(llm, work, label, apps[label], i + 1, args))
        if py_spy:
            for label in labels:
                log(f"profiled round: {label}")
                profiled = one_round(llm, work, label, apps[label], args.rounds + 1, args, py_spy)
                res["apps"][label]["profile"] = {
                    part: profiled[part].get("profile") for part in ("cold", "warm")
                }
    finally:
        llm.stop()
    res["others_cpu_share"] = others.share()
    res["load1_end"] = load1()
    res["cpu_speed_ms_end"] = cpu_speed_ms()
    text, passed = report(res)
    print(text)
    share = res["others_cpu_share"]
    print(
        f"\n(load average {res['load1_start']:.1f} at the start, {res['load1_end']:.1f} "
        f"at the end; other processes used {'?' if share is None else f'{share * 100:.0f} %'} of the CPUs; "
        f"a fixed Python loop took {res['cpu_speed_ms_start']:.0f} / {res['cpu_speed_ms_end']:.0f} ms of CPU "
        f"at the start / end; logs in {work})"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False))
        print(f"json: {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
