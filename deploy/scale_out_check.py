"""The check ``deploy/scale_out.sh`` runs: visitors chatting through nginx, one replica per session.

Each visitor is a ``gradio_client.Client`` that talks to nginx (never to a replica directly) and
has a two-turn conversation. Half of them keep the cookie nginx sets on ``/config`` (like a
browser), half drop it (like a client that blocks cookies), so both ways nginx finds a session's
replica are used. A visitor passes when:

- both answers are exactly the text the test server was told to stream (Japanese included), and
  each arrived in at least ``--min-partials`` partial outputs (streamed, not buffered by nginx);
- its second request carried its first turn: the test server counts the prompt's words into
  ``usage.prompt_tokens``, which llmchat shows in the answer's stats line, so the visitor sees
  whether the replica that answered turn 2 knew turn 1;
- every request of its session (nginx's access log, keyed by its cookie or its session_hash) went
  to one and the same replica.

Then the replicas' own logs (llmchat logs ``preset=... mode=... messages=N`` per request) must
agree: per replica, as many first turns (``messages=2``) as second turns (``messages=4``) and as
visitors the access log assigned to it. Prints a table; exit status 0 only if all of it holds.
Every wait is bounded (``--turn-timeout``), so a broken set-up fails instead of hanging.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradio_client import Client

SYSTEM_PROMPT = "You are the scale-out test assistant."
STATS_PROMPT = re.compile(r"(\d+) prompt \+")
LOG_LINE = re.compile(r'"\S+ \S+ [^"]*" (?P<status>\d+) upstream=(?P<up>.*?) key=(?P<key>\S+)')
REPLICA_LINE = re.compile(r"preset=\S+ mode=(\S+) .*?messages=(\d+)")


@dataclass
class Visitor:
    number: int
    keep_cookie: bool
    cookie: str | None = None
    session_hash: str | None = None
    answers: list[str] = field(default_factory=list)
    partials: list[int] = field(default_factory=list)
    prompt_tokens: list[int | None] = field(default_factory=list)
    expected_prompt_tokens: list[int] = field(default_factory=list)
    upstreams: Counter[str] = field(default_factory=Counter)
    error: str | None = None


def words(text: str) -> int:
    return len(text.split())


def reply_for(visitor: int, turn: int) -> str:
    """What the server streams: ASCII and Japanese, different for every visitor and turn."""
    return " ".join(
        [f"v{visitor}t{turn}", "日本語の答えです。", *[f"w{i}" for i in range(14)], "東京は晴れ。", "end"]
    )


def split_final(output: Any) -> tuple[str, str]:
    """(answer text, stats title) of a final chat output."""
    if isinstance(output, str):
        return output, ""
    answer, stats = "", ""
    for message in output or []:
        if not isinstance(message, dict):
            continue
        title = (message.get("metadata") or {}).get("title")
        if title:
            stats = title if "prompt" in title or "completion" in title else stats
        elif isinstance(message.get("content"), str):
            answer += message["content"]
    return answer, stats


def run_visitor(v: Visitor, url: str, timeout: float, delay: float) -> None:
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    try:
        if not v.keep_cookie:
            client.cookies.clear()  # like a browser that blocks the cookie: session_hash decides
        v.cookie = client.cookies.get("llmchat_replica")
        v.session_hash = client.session_hash
        history_words = words(SYSTEM_PROMPT)
        for turn in (1, 2):
            reply = reply_for(v.number, turn)
            message = f"visitor {v.number} turn {turn} [[test reply={shlex.quote(reply)} delay={delay}]]"
            job = client.submit(message, show_stats=True, api_name="/chat")
            deadline = time.monotonic() + timeout
            while not job.done():
                if time.monotonic() > deadline:
                    job.cancel()
                    raise TimeoutError(f"turn {turn}: no answer within {timeout:g} s")
                time.sleep(0.02)
            final = job.result(timeout=5)
            answer, stats = split_final(final)
            partials = [o for o in job.outputs()[:-1] if split_final(o)[0]]
            found = STATS_PROMPT.search(stats)
            v.answers.append(answer)
            v.partials.append(len(partials))
            v.prompt_tokens.append(int(found.group(1)) if found else None)
            history_words += words(message)
            v.expected_prompt_tokens.append(history_words)
            if answer != reply:
                raise AssertionError(f"turn {turn}: answer {answer[:80]!r} is not {reply[:80]!r}")
            history_words += words(reply)
    except Exception as exc:
        v.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="nginx's URL")
    parser.add_argument("--access-log", type=Path, required=True)
    parser.add_argument("--replica-log", type=Path, action="append", required=True, help="once per replica")
    parser.add_argument("--replica-port", type=int, action="append", required=True, help="same order")
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between streamed tokens")
    parser.add_argument("--min-partials", type=int, default=3)
    parser.add_argument("--turn-timeout", type=float, default=20)
    args = parser.parse_args(argv)

    visitors = [Visitor(i, keep_cookie=i % 2 == 0) for i in range(args.visitors)]
    threads = [
        threading.Thread(target=run_visitor, args=(v, args.url, args.turn_timeout, args.delay), daemon=True)
        for v in visitors
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * args.turn_timeout + 30)
    elapsed = time.monotonic() - started
    time.sleep(1.0)  # the heartbeat streams end when the clients close; let nginx log them

    # nginx's access log: which replica got each request, by stickiness key.
    names = {f"127.0.0.1:{port}": f"replica-{i + 1}" for i, port in enumerate(args.replica_port)}
    by_key: dict[str, Counter[str]] = defaultdict(Counter)
    for line in args.access_log.read_text(errors="replace").splitlines():
        m = LOG_LINE.search(line)
        if m:
            for upstream in m["up"].split(", "):  # "a, b" when nginx retried on another
                by_key[m["key"]][names.get(upstream, upstream)] += 1
    for v in visitors:
        keys = [f"c:{v.cookie}"] if v.cookie else []
        keys.append(f"s:{v.session_hash}")
        for key in keys:
            v.upstreams.update(by_key.get(key, Counter()))

    # The replicas' own logs: one line per request sent to the LLM server.
    replica_turns = {}
    for i, path in enumerate(args.replica_log):
        counts = Counter(m.group(2) for m in REPLICA_LINE.finditer(path.read_text(errors="replace")))
        replica_turns[f"replica-{i + 1}"] = counts

    print()
    print(f"{'visitor':>7} | {'routing by':<12} | {'replica, requests':<24} | partials | prompt tok | result")
    print(f"{'-' * 7}-|-{'-' * 12}-|-{'-' * 24}-|----------|------------|-------")
    failures = 0
    served: Counter[str] = Counter()
    for v in visitors:
        problems = []
        if v.error:
            problems.append(v.error)
        if len(v.upstreams) != 1:
            problems.append(f"session spread over {dict(v.upstreams) or 'no replica'}")
        else:
            served[next(iter(v.upstreams))] += 1
        if any(p < args.min_partials for p in v.partials):
            problems.append(f"not streamed: {v.partials} partial outputs")
        if v.prompt_tokens != v.expected_prompt_tokens:
            problems.append(
                f"prompt tokens {v.prompt_tokens}, expected {v.expected_prompt_tokens} "
                "(turn 2 did not carry turn 1?)"
            )
        routing = "cookie" if v.cookie else "session_hash"
        where = ", ".join(f"{name} x{n}" for name, n in sorted(v.upstreams.items())) or "-"
        result = "ok" if not problems else "FAIL: " + "; ".join(problems)
        failures += bool(problems)
        partials = "/".join(map(str, v.partials)) or "-"
        tokens = "/".join(str(t) for t in v.prompt_tokens) or "-"
        print(f"{v.number:>7} | {routing:<12} | {where:<24} | {partials:>8} | {tokens:>10} | {result}")

    print()
    print("replica   | visitors (nginx log) | 1st turns (messages=2) | 2nd turns w/ history (=4) | other")
    print("----------|----------------------|------------------------|----------------------------|------")
    for name in sorted(replica_turns):
        counts = replica_turns[name]
        other = sum(n for k, n in counts.items() if k not in ("2", "4"))
        agree = counts["2"] == counts["4"] == served[name] and not other
        failures += not agree
        mark = "" if agree else "  <- disagree"
        print(f"{name:<9} | {served[name]:>20} | {counts['2']:>22} | {counts['4']:>26} | {other:>5}{mark}")
    ok = not failures
    total_answers = sum(len(v.answers) for v in visitors)
    print()
    print(f"{total_answers} answers from {len(visitors)} visitors in {elapsed:.1f} s through {args.url}")
    print("RESULT:", "PASS - every session stayed on one replica" if ok else f"FAIL ({failures} problems)")
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # gradio_client runs each job in a worker thread; one stuck on a stream that never ends (a
    # broken set-up) would keep the interpreter from exiting. Everything is reported: leave now.
    os._exit(code)
