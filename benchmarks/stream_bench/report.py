"""The text report: tables A to E, each figure against its target (issue 5)."""

from __future__ import annotations

from typing import Any

from benchmarks.common.stats import median
from benchmarks.embedded_rate import TARGET_RATIO, summarize
from benchmarks.stream_bench.crowd import Crowd
from benchmarks.stream_bench.figures import (
    TARGET_API_RATIO,
    TARGET_BROWSER_8K_RATIO,
    TARGET_BROWSER_AFTER_LAST_S,
    TARGET_CPU_MS_PER_TOKEN,
    TARGET_CROWD_P95_S,
    TARGET_TTFT_EXTRA_MS,
    med,
    paired,
)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{seconds * 1000:.1f} ms"


def sec(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{seconds:.3f} s"


def report(res: dict[str, Any]) -> tuple[str, bool]:
    """The tables A to E as text, and whether every target was met."""
    out = answer_times(res)
    checks = target_checks(res)
    out.append("")
    out.append("B. Figures vs targets")
    out.append(
        table(
            [[f, m, t, "" if ok is None else verdict(ok)] for f, m, t, ok in checks],
            ["figure", "measured", "target", ""],
        )
    )
    passed = all(ok for *_, ok in checks if ok is not None)
    lines, crowds_passed = crowd_table(res)
    out += lines
    passed = passed and crowds_passed
    out += profile_tables(res)
    if res.get("embedded"):
        lines, local_passed = local_model_table(res)
        out += lines
        passed = passed and local_passed
    return "\n".join(out), passed


def answer_times(res: dict[str, Any]) -> list[str]:
    """A. Answer time by length, each way."""
    direct, api, browser = res["direct"], res["api"], res.get("browser", {})
    out: list[str] = []

    rows = []
    for n in sorted(set(direct) | set(api) | set(browser)):
        d, a, b = direct.get(n, []), api.get(n, []), browser.get(n, [])
        cpu = [r.cpu / n * 1000 for r in a if r.cpu is not None]
        exact = all(r.ok for r in [*d, *a, *b])
        rows.append(
            [
                f"{n}",
                sec(med(d, "total")),
                ms(med(d, "ttft")),
                sec(med(a, "total")),
                f"{paired(a, d, 'ratio'):.2f}x" if d and a else "-",
                f"{median(cpu):.3f}" if cpu else "-",
                sec(med(b, "total")) if b else "-",
                ms(med(b, "ttft")) if b else "-",
                sec(med(b, "after_last")) if b else "-",
                "yes" if exact else "NO",
            ]
        )
    out.append(
        f"A. Answer time by length: median of {res['runs']} runs ({res['browser_runs']} in the browser); "
        "the LLM test server streams with no delay"
    )
    out.append(
        table(
            rows,
            [
                "tokens",
                "direct openai",
                "direct TTFT",
                "app API",
                "API/direct (paired)",
                "app CPU ms/tok",
                "browser",
                "browser 1st text",
                "browser after last tok",
                "text exact",
            ],
        )
    )

    return out


def target_checks(res: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """B. (figure, measured, target, met) rows; met is None for a figure without a target."""
    direct, api, sse, browser = res["direct"], res["api"], res.get("sse", []), res.get("browser", {})
    checks: list[tuple[str, str, str, bool | None]] = []  # figure, measured, target, ok
    d4, a4 = direct.get(4000, []), api.get(4000, [])
    dt, at, dttft = med(d4, "total"), med(a4, "total"), med(d4, "ttft")  # medians; ratios are paired
    checks.append(("1. direct openai client: 4000 tokens", sec(dt), "baseline", None))
    checks.append(("1. direct openai client: TTFT", ms(dttft), "baseline", None))
    checks.append(
        (
            "2. app API (gradio_client): 4000 tokens",
            f"{sec(at)} = {paired(a4, d4, 'ratio'):.2f}x direct",
            f"<= {TARGET_API_RATIO}x direct",
            paired(a4, d4, "ratio") <= TARGET_API_RATIO,
        )
    )
    cpu_tokens = sum(r.tokens for r in a4 if r.cpu is not None)
    cpu_ms = sum(r.cpu for r in a4 if r.cpu is not None) / cpu_tokens * 1000 if cpu_tokens else float("nan")
    checks.append(
        (
            "2. app CPU per token (4000-token answers)",
            f"{cpu_ms:.3f} ms",
            f"<= {TARGET_CPU_MS_PER_TOKEN} ms",
            cpu_ms <= TARGET_CPU_MS_PER_TOKEN,
        )
    )
    if sse:
        sttft, extra = med(sse, "ttft"), paired(sse, d4, "ttft_diff")
        checks.append(
            (
                "2. app TTFT (timed at the SSE bytes)",
                f"{ms(sttft)} = direct + {ms(extra)}",
                f"<= direct + {TARGET_TTFT_EXTRA_MS:.0f} ms",
                extra * 1000 <= TARGET_TTFT_EXTRA_MS,
            )
        )
        checks.append(
            (
                "   app 4000 tokens timed at the SSE bytes",
                f"{sec(med(sse, 'total'))} = {paired(sse, d4, 'ratio'):.2f}x direct",
                "-",
                None,
            )
        )
        checks.append(
            (
                "   SSE texts exact (final and rebuilt from diffs)",
                f"{sum(r.ok for r in sse)}/{len(sse)}",
                "all",
                all(r.ok for r in sse),
            )
        )
    if res.get("idle_cpu_ms_per_s") is not None:
        checks.append(("   app CPU while idle", f"{res['idle_cpu_ms_per_s']:.0f} ms/s", "-", None))
    if 4000 in browser:
        b4 = browser[4000]
        after = med(b4, "after_last")
        checks.append(
            (
                "3. browser: 4000 tokens fully shown after server's last token",
                sec(after),
                f"<= {TARGET_BROWSER_AFTER_LAST_S} s",
                after <= TARGET_BROWSER_AFTER_LAST_S,
            )
        )
        checks.append(("   browser: Enter -> 4000 tokens fully shown", sec(med(b4, "total")), "-", None))
        steps = " / ".join(f"{med(b4, attr) * 1000:.0f}" for attr in ("join", "llm_request", "ttft"))
        checks.append(
            ("   browser: Enter -> queue/join sent / at LLM server / 1st text", f"{steps} ms", "-", None)
        )
        if 8000 in browser:
            t4, t8 = med(b4, "total"), med(browser[8000], "total")
            checks.append(
                (
                    "3. browser: 8000-token time / 4000-token time",
                    f"{t8:.2f} s / {t4:.2f} s = {t8 / t4:.2f}",
                    f"<= {TARGET_BROWSER_8K_RATIO}",
                    t8 / t4 <= TARGET_BROWSER_8K_RATIO,
                )
            )
        live = res.get("browser_live") or []
        if live:
            rate = f"{live[0].tokens} tokens at {1 / res['crowd_delay']:.0f} tokens/s"
            steps = " / ".join(f"{med(live, attr) * 1000:.0f}" for attr in ("join", "llm_request", "ttft"))
            checks.append(
                (f"   browser, {rate}: Enter -> join / at LLM / 1st text", f"{steps} ms", "-", None)
            )
            checks.append(
                (
                    f"   browser, {rate}: shown after server's last token",
                    sec(med(live, "after_last")),
                    "-",
                    None,
                )
            )
        exact = [r for runs in [*browser.values(), live] for r in runs]
        checks.append(
            (
                "3. browser text == server text (incl. Japanese)",
                f"{sum(r.ok for r in exact)}/{len(exact)} runs",
                "all",
                all(r.ok for r in exact),
            )
        )
        for r in exact:
            if not r.ok:
                checks.append((f"   browser {r.tokens} tokens: {r.note}"[:110], "", "", None))
    return checks


def crowd_table(res: dict[str, Any]) -> tuple[list[str], bool]:
    """C. Visitors sending at the same moment; whether every crowd with a target met it."""
    out: list[str] = []
    passed = True
    crowds: list[Crowd] = res.get("crowd", [])
    if crowds:
        out.append("")
        out.append(
            f"C. Visitors sending at the same moment: {res['crowd_tokens']} tokens each, "
            f"{res['crowd_delay'] * 1000:.0f} ms between tokens ({1 / res['crowd_delay']:.0f} tokens/s "
            "per answer); TTFT = POST queue/join -> first text on the SSE stream; "
            f"median over {len(crowds[0].rounds)} rounds"
        )
        rows = []
        for c in crowds:
            target = TARGET_CROWD_P95_S.get(c.visitors)
            ok = None if target is None else c.med("p95") <= target and c.bad_texts == 0 and c.waited == 0
            if ok is not None:
                passed = passed and ok
            rows.append(
                [
                    f"{c.visitors}",
                    f"{c.concurrency}",
                    ms(c.med("p50")),
                    ms(c.med("p95")),
                    ms(max(r["max"] for r in c.rounds)),
                    f"<= {target} s" if target else "-",
                    "" if ok is None else verdict(ok),
                    f"{c.bad_texts}",
                    f"{c.waited}",
                    f"{max(r['max_at_once'] for r in c.rounds)}",
                    f"{min(r['server_finished'] for r in c.rounds)}/{c.visitors}",
                    f"{c.med('app_cpu_s') / (c.visitors * res['crowd_tokens']) * 1000:.2f}",
                ]
            )
        out.append(
            table(
                rows,
                [
                    "visitors",
                    "--concurrency",
                    "TTFT p50",
                    "TTFT p95",
                    "TTFT max",
                    "target p95",
                    "",
                    "wrong texts",
                    "waited behind another",
                    "most answers at once",
                    "streams finished",
                    "app CPU ms/tok",
                ],
            )
        )
        errors = sorted({e for c in crowds for r in c.rounds for e in r["errors"]})
        if errors:
            out.append("errors: " + "; ".join(errors)[:500])
    return out, passed


def profile_tables(res: dict[str, Any]) -> list[str]:
    """D. Where the app's CPU goes (py-spy)."""
    out: list[str] = []
    for prof in (res.get("profile") or {}).values():
        out.append("")
        if "categories" not in prof:
            out.append(f"D. Profile ({prof.get('title')}): {prof.get('error')}")
            continue
        out.append(
            f"D. Where the app's CPU goes: {prof['title']} (py-spy, {prof['samples']} busy samples). "
            f"{prof['tokens']} tokens, {prof['updates']} UI updates, {prof['wall_s']:.2f} s wall, "
            f"app CPU {prof['cpu_s']:.2f} s ({prof['user_s']:.2f} user + {prof['sys_s']:.2f} sys) "
            f"= {prof['ms_per_token']:.3f} ms/token"
        )
        out.append(
            table(
                [
                    [c["category"], f"{c['share'] * 100:.1f} %", f"{c['us_per_token']:.1f} us"]
                    for c in prof["categories"]
                ],
                ["category (share of busy samples)", "share", "per token"],
            )
        )
    return out


def local_model_table(res: dict[str, Any]) -> tuple[list[str], bool]:
    """E. The local model: tokens/s a visitor sees vs llama.cpp's own rate."""
    out: list[str] = []
    e = summarize(res["embedded"])
    out.append("")
    out.append(
        f"E. Local model (SmolLM2 on llama_cpp.server, {res['embedded']['n_threads']} thread(s), "
        f"~{e['tokens'] or 0:.0f}-token answers, median of {len(res['embedded']['runs'])} runs): "
        "tokens/s"
    )
    ok = e["ratio"] is not None and e["ratio"] >= TARGET_RATIO
    direct = e["direct"] or 0

    def vs_direct(rate: float | None) -> str:
        return f"{(rate or 0) / direct:.3f}x" if direct else "-"

    rows = [
        ["llama.cpp's own decode rate (its log: eval time)", f"{e['server'] or 0:.1f}", "1.000x",
         vs_direct(e["server"]), "", ""],
        ["direct openai client", f"{direct:.1f}", f"{e['direct_ratio'] or 0:.3f}x", "1.000x", "", ""],
        ["visitor, through the app", f"{e['visitor'] or 0:.1f}", f"{e['ratio'] or 0:.3f}x",
         vs_direct(e["visitor"]), f">= {TARGET_RATIO}x llama.cpp's", verdict(ok)],
    ]  # fmt: skip
    out.append(table(rows, ["seen by", "tokens/s", "vs llama.cpp's rate", "vs direct client", "target", ""]))
    return out, ok
