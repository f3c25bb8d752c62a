"""The load test's table of figures and its verdict (exit status 0 only when every check held)."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from benchmarks.common.stats import percentile, slope_per_minute
from benchmarks.load_test.checks import check_isolation, content_of
from benchmarks.load_test.visitors import PRESET, STREAMED_SECONDS, Shared


def report(
    args: argparse.Namespace,
    shared: Shared,
    bodies: list[dict[str, Any]],
    upstream: list[float],
    samples: list[tuple[float, float]],
    load_seconds: float,
    app_cpu: float,
    own_cpu: float,
    machine: str,
    app_log: str,
) -> int:
    turns = [t for t in shared.turns if t.ok or t.error]
    ok = [t for t in turns if t.ok]
    errors = [t for t in turns if not t.ok]
    ttfts = [t.ttft * 1000 for t in ok if t.ttft is not None]
    long_ok = [t for t in ok if t.tokens * args.delay >= STREAMED_SECONDS]
    ttft_first = [t.ttft * 1000 for t in ok if t.ttft is not None and t.index == 0]
    ttft_later = [t.ttft * 1000 for t in ok if t.ttft is not None and t.index > 0]
    totals = [t.total for t in ok if t.total is not None]
    tokens = sum(t.tokens for t in ok)
    chars = sum(len(t.expected) for t in ok)
    japanese = sum(1 for t in ok if any(ord(c) > 0x3000 for c in t.expected))
    checked, isolation = check_isolation(bodies, shared)
    per_question = Counter(content_of(b["messages"][-1]) for b in bodies if b.get("messages"))
    repeated = sum(1 for n in per_question.values() if n > 1)
    missing = sum(1 for t in ok if per_question[t.message] == 0)
    logged = app_log.count(f"preset={PRESET} mode=")
    half = load_seconds / 2
    rss = [mb for _, mb in samples]
    second_half = [(s, mb) for s, mb in samples if s >= half]
    growth_2nd = (second_half[-1][1] - second_half[0][1]) if len(second_half) >= 2 else float("nan")
    load_start = shared.deadline - args.duration
    sessions_2nd = sum(1 for t in shared.sessions_opened if t - load_start >= half)
    answers_2nd = sum(1 for t in ok if t.submitted is not None and t.submitted - load_start >= half)
    slope_all = slope_per_minute(samples)
    slope_2nd = slope_per_minute(second_half)
    tracebacks = app_log.count("Traceback (most recent call last)")

    rows = [
        ("visitors at once", f"{args.visitors}"),
        ("load duration", f"{load_seconds:.1f} s (turns per session {args.turns[0]}-{args.turns[1]})"),
        ("sessions opened", f"{len(shared.sessions_opened)}"),
        ("answers ok / turns", f"{len(ok)} / {len(turns)}  ({japanese} with Japanese text)"),
        ("answers per second", f"{len(ok) / load_seconds:.2f}"),
        ("tokens streamed", f"{tokens}  ({chars} characters)"),
        ("tokens/s total", f"{tokens / load_seconds:.0f}  ({chars / load_seconds:.0f} chars/s)"),
        ("TTFT p50 / p95 / max", f"{percentile(ttfts, 50):.0f} / {percentile(ttfts, 95):.0f} / "
         f"{max(ttfts, default=float('nan')):.0f} ms"),
        ("TTFT p50 1st / later turns",
         f"{percentile(ttft_first, 50):.0f} / {percentile(ttft_later, 50):.0f} ms"),
        ("submit -> LLM request p50/p95",
         f"{1000 * percentile(upstream, 50):.0f} / {1000 * percentile(upstream, 95):.0f} ms "
         "(app + queue side of TTFT)"),
        ("answer time p50 / p95", f"{percentile(totals, 50):.2f} / {percentile(totals, 95):.2f} s"),
        ("partial outputs/answer", f"p50 {percentile([t.partials for t in ok], 50):.0f}, "
         f"min {min((t.partials for t in ok), default=0)} (all), "
         f"min {min((t.partials for t in long_ok), default=0)} (streaming >= {STREAMED_SECONDS:g} s)"),
        ("errors", f"{len(errors)} turns, {len(shared.visitor_errors)} visitors, "
         f"{tracebacks} tracebacks in app log"),
        ("text mismatches", f"{sum(1 for t in errors if t.error and t.error.startswith('text differs'))}"),
        ("requests checked", f"{checked} of {len(bodies)} server requests ({logged} logged by the app); "
         f"{repeated} repeated, {missing} missing"),
        ("cross-talk/history", f"{len(isolation)} problems"),
        ("app RSS first/last/max", f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MB ({len(rss)} samples)"
         if rss else "no samples"),
        ("app RSS slope", f"{slope_all:+.2f} MB/min overall, {slope_2nd:+.2f} MB/min in the 2nd half"),
        ("2nd-half growth", f"{growth_2nd:+.1f} MB for {sessions_2nd} new sessions and {answers_2nd} answers "
         f"({1024 * growth_2nd / max(sessions_2nd, 1):+.0f} KiB/session or "
         f"{1024 * growth_2nd / max(answers_2nd, 1):+.1f} KiB/answer)"),
        ("app CPU", f"{app_cpu:.1f} s = {100 * app_cpu / load_seconds:.0f}% of one core "
         f"({1000 * app_cpu / max(len(ok), 1):.1f} ms/answer, "
         f"{1000 * app_cpu / max(tokens, 1):.2f} ms/token)"),
        ("load generator CPU", f"{own_cpu:.1f} s = {100 * own_cpu / load_seconds:.0f}% of one core "
         "(visitors + test server, this process)"),
        ("machine", machine + " (anything else running skews the latencies)"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    print()
    print(f"{'figure':<{width}} | value")
    print(f"{'-' * width}-|-{'-' * 60}")
    for name, value in rows:
        print(f"{name:<{width}} | {value}")
    print()
    if samples:
        line = "  ".join(f"{s:.0f}s:{mb:.1f}" for s, mb in samples[:: max(1, len(samples) // 12)])
        print(f"RSS samples (MB): {line}")

    failures = []
    if errors or shared.visitor_errors:
        failures.append(f"{len(errors)} failed turns, {len(shared.visitor_errors)} visitor errors")
        for t in errors[:5]:
            print(f"  turn v{t.visitor} s{t.session} t{t.index}: {t.error}")
        for message in shared.visitor_errors[:5]:
            print(f"  {message}")
    if isolation:
        failures.append(f"{len(isolation)} isolation problems")
        for problem in isolation[:5]:
            print(f"  {problem}")
    if repeated:
        failures.append(f"{repeated} questions reached the server more than once")
    if missing:
        failures.append(f"{missing} answered questions never reached the server")
    if tracebacks:
        failures.append(f"{tracebacks} tracebacks in the app log")
    if not ok:
        failures.append("no answers at all")
    allowed_mb = sessions_2nd * args.max_kib_per_session / 1024 + args.rss_noise_mb
    if not (growth_2nd <= allowed_mb):
        failures.append(
            f"app RSS grew {growth_2nd:+.1f} MB in the 2nd half; allowed {allowed_mb:.1f} MB "
            f"({sessions_2nd} new sessions x {args.max_kib_per_session:g} KiB + {args.rss_noise_mb:g} MB)"
        )
    print()
    print("RESULT:", "PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 0 if not failures else 1
