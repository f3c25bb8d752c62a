"""Isolation: each request the server received is exactly its own session's conversation."""

from __future__ import annotations

from typing import Any

from benchmarks.load_test.visitors import MARKER, Shared
from llmchat.testing.openai_server import OpenAITestServer


def content_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else repr(content)


def check_isolation(bodies: list[dict[str, Any]], shared: Shared) -> tuple[int, list[str]]:
    """Each request body must be exactly its session's conversation; no foreign marker anywhere."""
    problems: list[str] = []
    checked = 0
    for body in bodies:
        messages = [{"role": m.get("role"), "content": content_of(m)} for m in body.get("messages", [])]
        if not messages or messages[-1]["role"] != "user":
            problems.append(f"request without a final user message: {str(messages)[:200]}")
            continue
        expected = shared.expected_bodies.get(messages[-1]["content"])
        if expected is None:
            problems.append(f"request for an unknown question: {messages[-1]['content'][:120]!r}")
            continue
        checked += 1
        own = MARKER.search(messages[-1]["content"])
        owner = own.group(1, 2) if own else None
        foreign = {
            m.group(0)
            for message in messages
            for m in MARKER.finditer(message["content"])
            if m.group(1, 2) != owner
        }
        if foreign:
            problems.append(f"request of session {owner} contains other sessions' markers {sorted(foreign)}")
        elif messages != expected:
            got, want = len(messages), len(expected)
            first = next(
                (i for i, (a, b) in enumerate(zip(messages, expected, strict=False)) if a != b),
                min(got, want),
            )
            problems.append(
                f"request of session {owner}: {got} messages, expected {want}; first difference at "
                f"message {first}: {str(messages[first] if first < got else None)[:160]}"
            )
    return checked, problems


def upstream_delays(server: OpenAITestServer, shared: Shared) -> list[float]:
    """Per answered turn: seconds from the visitor's submit to the request reaching the LLM server."""
    by_question = {t.message: t for t in shared.turns if t.ok and t.submitted is not None}
    delays = []
    for record in list(server.streams):
        body = server.requests[record.request_index].body or {}
        messages = body.get("messages") or [{}]
        turn = by_question.get(content_of(messages[-1]))
        if turn is not None and turn.submitted is not None:
            delays.append(record.started_at - turn.submitted)
    return delays
