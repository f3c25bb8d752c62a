"""The Markdown tables: every turn side by side, then the summary of both ways."""

from __future__ import annotations

import os
from typing import Any

from benchmarks.long_chat.conversation import CALM
from benchmarks.long_chat.summary import fmt, median, summary
from benchmarks.long_chat.ways import LlmchatWay, SeedWay


def markdown(app: LlmchatWay | None, seed: SeedWay | None, n_ctx: int, max_tokens: int) -> str:
    n = max(len(w.turns) for w in (app, seed) if w)
    lines = [
        "| turn | other load | llmchat s | TTFT s | tokens | prompt (evaluated) | sent "
        "| seed s | TTFT s | tokens | prompt (evaluated) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | :--- | ---: | ---: | ---: | ---: |",
    ]
    for i in range(n):
        a = app.turns[i] if app and i < len(app.turns) else None
        s = seed.turns[i] if seed and i < len(seed.turns) else None
        cells = [str(i + 1), " / ".join(fmt(t.others_cores, ".1f") for t in (a, s) if t)]
        if a:
            sent = f"{a.messages_sent} msgs" if a.messages_sent else ""
            if a.left_out:
                sent += f" ({a.left_out} left out)"
            if a.failed:
                sent += f" **{a.error}**"
            prompt = f"{fmt(a.prompt_tokens, 'd')} ({fmt(a.prompt_evaluated, 'd')})"
            cells += [fmt(a.seconds), fmt(a.ttft), fmt(a.completion_tokens, "d"), prompt, sent]
        else:
            cells += ["–"] * 5
        if s and s.failed:
            over = f"{s.prompt_tokens} > {n_ctx}: " if s.prompt_tokens else ""
            cells += [fmt(s.seconds), "–", "**failed**", f"{over}{s.error}"]
        elif s:
            tokens = fmt(s.completion_tokens, "d")
            if s.finish_reason == "length" and (s.completion_tokens or 0) < max_tokens:
                tokens += " (window full)"
            prompt = f"{fmt(s.prompt_tokens, 'd')} ({fmt(s.prompt_evaluated, 'd')})"
            cells += [fmt(s.seconds), fmt(s.ttft), tokens, prompt]
        else:
            cells += ["–"] * 4
        lines.append("| " + " | ".join(cells) + " |")

    sa = summary(app.turns) if app else {}
    ss = summary(seed.turns) if seed else {}
    span = f"turns 1–3 → {n - 2}–{n}"

    def trend(d: dict[str, Any], key: str, scale: float = 1, spec: str = ".2f") -> str:
        head, tail = d.get(f"head_{key}"), d.get(f"tail_{key}")
        if head is None:
            return "–"
        text = f"{fmt(head * scale, spec)} → {fmt(tail * scale if tail is not None else None, spec)}"
        return text + (f" ({d[f'ratio_{key}']:.2f}×)" if d.get(f"ratio_{key}") is not None else "")

    lines += [
        "",
        "| | llmchat | seed |",
        "| --- | ---: | ---: |",
        f"| turn 1 → turn {n}, s | {fmt(sa.get('first_s'))} → {fmt(sa.get('last_s'))} "
        f"({fmt(sa.get('ratio_last_first'))}×) | {fmt(ss.get('first_s'))} → "
        + ("failed" if seed and seed.turns[-1].failed else fmt(ss.get("last_s")))
        + " |",
        f"| median s per turn, {span} | {trend(sa, 's')} | {trend(ss, 's')} |",
        f"| median TTFT s, {span} | {trend(sa, 'ttft')} | {trend(ss, 'ttft')} |",
        f"| median ms per completion token (turn s ÷ tokens), {span} "
        f"| {trend(sa, 's_per_token', 1000, '.1f')} | {trend(ss, 's_per_token', 1000, '.1f')} |",
        f"| median decode ms/token (server log), {span} | {trend(sa, 'decode_ms', 1, '.1f')} "
        f"| {trend(ss, 'decode_ms', 1, '.1f')} |",
        f"| failed turns | {sa.get('failed', '–')} | {ss.get('failed', '–')}"
        + (f" (turns {ss['first_failed_turn']}–{n})" if ss.get("first_failed_turn") else "")
        + " |",
        f"| largest prompt answered, tokens | {fmt(sa.get('largest_prompt'), 'd')} "
        f"| {fmt(ss.get('largest_prompt'), 'd')} |",
        f"| turns where older turns were cut | {', '.join(map(str, sa.get('cut_turns') or [])) or '–'} | – |",
        f"| slowest turn, s (÷ turn 1) | {fmt(sa.get('slowest_s'))} ({fmt(sa.get('ratio_slowest_first'))}×) "
        f"| {fmt(ss.get('slowest_s'))} ({fmt(ss.get('ratio_slowest_first'))}×) |",
        f"| turns with a cut: median s, prompt tokens evaluated | {fmt(sa.get('cut_s'))} s, "
        f"{fmt(sa.get('cut_evaluated'), '.0f')} | – |",
        f"| cache warm-ups while reading: count, median tokens, median s | {sa.get('warmups', 0)}"
        + (
            f", {fmt(sa.get('warmup_evaluated'), '.0f')}, {fmt(sa.get('warmup_s'))} s"
            if sa.get("warmups")
            else ""
        )
        + " | – |",
        f"| other processes' CPU during the turns, cores of {os.cpu_count()} | {fmt(sa.get('others_cores'))} "
        f"| {fmt(ss.get('others_cores'))} |",
    ]

    def calm(d: dict[str, Any], key: str) -> str:
        turns = d.get(f"{key}_turns") or []
        if not turns:
            return "–"
        count = f"{len(turns)} turn{'s' if len(turns) > 1 else ''}"
        return f"{fmt(d[f'{key}_s'])} s, TTFT {fmt(d[f'{key}_ttft'])} s ({count})"

    half = (n + 1) // 2
    lines += [
        f"| *calm turns only (others < {CALM} cores):* | | |",
        f"| median, turns without a cut, 1–{half} | {calm(sa, 'calm_plain_early')} "
        f"| {calm(ss, 'calm_plain_early')} |",
        f"| median, turns without a cut, {half + 1}–{n} | {calm(sa, 'calm_plain_late')} "
        f"| {calm(ss, 'calm_plain_late')} |",
        f"| median, turns with a cut | {calm(sa, 'calm_cut')} | – |",
    ]
    return "\n".join(lines)


def overflow_table(drop: LlmchatWay | None, summing: LlmchatWay) -> str:
    """``overflow: drop`` next to ``summarize``: per-turn time, prompt work, what summaries cost."""

    def figures(way: LlmchatWay | None) -> dict[str, str]:
        if way is None or not way.turns:
            return {}
        s = summary(way.turns)
        turns = way.turns
        evaluated = [t.prompt_evaluated for t in turns if t.prompt_evaluated is not None]
        made = [t for t in turns if t.summaries]
        total = [
            (t.prompt_evaluated or 0) + (t.summary_evaluated or 0) + (t.warmup_evaluated or 0) for t in turns
        ]
        return {
            "median s per turn": fmt(median([t.seconds for t in turns if not t.failed])),
            "median s, turns with a cut": fmt(s.get("cut_s")),
            "median s, turns without a cut": fmt(
                median([t.seconds for t in turns if not t.failed and t.turn not in s["cut_turns"]])
            ),
            "mean prompt tokens evaluated per turn (its request)": fmt(
                sum(evaluated) / len(evaluated) if evaluated else None, ".0f"
            ),
            "mean tokens evaluated per turn, all requests (warm-ups, summaries)": fmt(
                sum(total) / len(total), ".0f"
            ),
            "turns with a cut": ", ".join(map(str, s["cut_turns"])) or "–",
            "summary requests": str(sum(t.summaries for t in turns)),
            "summary cost: median s, tokens evaluated, tokens generated": (
                f"{fmt(median([t.summary_seconds for t in made]))} s, "
                f"{fmt(median([t.summary_evaluated for t in made]), '.0f')}, "
                f"{fmt(median([t.summary_tokens for t in made]), '.0f')}"
                if made
                else "–"
            ),
            "cache warm-ups": str(s.get("warmups", 0)),
            "failed turns": str(s.get("failed", 0)),
        }

    a, b = figures(drop), figures(summing)
    lines = ["| | overflow: drop | overflow: summarize |", "| --- | ---: | ---: |"]
    lines += [f"| {key} | {a.get(key, '–')} | {b[key]} |" for key in b]
    return "\n".join(lines)
