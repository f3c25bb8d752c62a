"""CPU cost of reading the event stream, per token: llmchat's bounded byte reader vs httpx's lines.

``python -m benchmarks.sse_reader`` feeds the same llama.cpp-style event stream (in memory, no
network) through both readers, from the response's bytes to the answer's pieces (``_read_event``
included, so the figure compares with the app's ~0.044 ms of CPU per token) and prints microseconds
of CPU per token, the best and the median of several alternating runs. Two deliveries: one event
per chunk (a server streaming at model speed) and 64 KiB chunks (a burst that arrived while the app
was busy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator

import httpx2

from llmchat.engine.stream import StreamOutcome, _read_event, _sse_data


def _event(i: int) -> bytes:
    chunk = {
        "choices": [{"finish_reason": None, "index": 0, "delta": {"content": f" word{i % 97}"}}],
        "created": 1_700_000_000,
        "id": "chatcmpl-0123456789abcdef",
        "model": "smollm2",
        "system_fingerprint": "b6000-0123abcd",
        "object": "chat.completion.chunk",
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _deliveries(tokens: int) -> dict[str, list[bytes]]:
    events = [_event(i) for i in range(tokens)] + [b"data: [DONE]\n\n"]
    whole = b"".join(events)
    size = 65_536
    bursts = [whole[i : i + size] for i in range(0, len(whole), size)]
    return {"event per chunk": events, "64 KiB chunks": bursts}


def _response(chunks: list[bytes]) -> httpx2.Response:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    headers = {"content-type": "text/event-stream"}
    return httpx2.Response(200, content=body(), request=request, headers=headers)


async def _httpx_lines_sse(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The reader before the bound (llmchat up to issue 11): httpx's ``aiter_lines``, then this."""
    parts: list[str] = []
    async for line in lines:
        if not line:
            if parts:
                yield "\n".join(parts)
                parts = []
        elif line.startswith("data:"):
            parts.append(line[6:] if line.startswith("data: ") else line[5:])


async def _run(chunks: list[bytes], reader: str) -> tuple[float, int]:
    response = _response(chunks)
    outcome = StreamOutcome()
    pieces = 0
    began = time.process_time()
    if reader == "httpx aiter_lines":
        events = _httpx_lines_sse(response.aiter_lines())
    else:
        events = _sse_data(response.aiter_bytes())
    async for data in events:
        if data.startswith("[DONE]"):
            break
        pieces += len(_read_event(data, outcome, response.request))
    return time.process_time() - began, pieces


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    readers = ("httpx aiter_lines", "bounded _sse_data")
    for name, chunks in _deliveries(args.tokens).items():
        times: dict[str, list[float]] = {reader: [] for reader in readers}
        for _ in range(args.runs):  # alternating, so both meet the same load on a shared machine
            for reader in readers:
                seconds, pieces = asyncio.run(_run(chunks, reader))
                assert pieces == args.tokens, pieces
                times[reader].append(seconds / pieces * 1e6)
        for reader in readers:
            best, median = min(times[reader]), statistics.median(times[reader])
            print(f"{name:16} {reader:18} {best:6.2f} µs/token (best), {median:6.2f} (median)")


if __name__ == "__main__":
    main()
