"""Coalescing: fewer UI updates, the same text, no delay for the first and last piece."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest

from llmchat.core.coalesce import MAX_FLOOR, coalesce, page_floor


async def source(
    pieces: list[str], gap: float, log: list[str], fail: Exception | None = None
) -> AsyncIterator[str]:
    try:
        for piece in pieces:
            yield piece
            if gap:
                await asyncio.sleep(gap)
        if fail:
            raise fail
    finally:
        log.append("closed")


async def collect(batches: AsyncIterator[list[str]]) -> list[tuple[float, str]]:
    """(seconds since start, text so far) at each update."""
    start, text, updates = time.monotonic(), "", []
    async for batch in batches:
        text += "".join(batch)
        updates.append((time.monotonic() - start, text))
    return updates


def test_fast_source_gives_few_updates_and_the_exact_text() -> None:
    pieces = [f"{i}語 " for i in range(3000)] + ["🎌", "é"]
    log: list[str] = []
    updates = asyncio.run(collect(coalesce(source(pieces, 0, log), interval=0.05)))
    assert updates[-1][1] == "".join(pieces)
    assert len(updates) < 30
    assert all(b[1].startswith(a[1]) for a, b in itertools.pairwise(updates))
    assert log == ["closed"]


def test_first_piece_goes_out_at_once_and_a_paused_source_is_not_held_back() -> None:
    async def bursty() -> AsyncIterator[str]:
        yield "first"
        await asyncio.sleep(0.02)
        yield " second"  # arrives within the interval after the first update ...
        await asyncio.sleep(1.0)  # ... and the server then pauses
        yield " third"

    updates = asyncio.run(collect(coalesce(bursty(), interval=0.1)))
    assert updates[0] == (pytest.approx(0, abs=0.03), "first")
    second = next(at for at, text in updates if text == "first second")
    assert second < 0.3  # shown within the interval, not after the pause
    assert updates[-1][1] == "first second third"


def test_slow_source_shows_every_piece() -> None:
    pieces = ["a", "b", "c", "d"]
    updates = asyncio.run(collect(coalesce(source(pieces, 0.08, []), interval=0.05)))
    assert [text for _, text in updates] == ["a", "ab", "abc", "abcd"]


def test_failure_comes_after_the_text_that_arrived() -> None:
    seen: list[str] = []

    async def run() -> None:
        async for batch in coalesce(source(["x", "y"], 0.01, [], fail=ConnectionError("cut")), 0.05):
            seen.append("".join([*seen[-1:], *batch]))

    with pytest.raises(ConnectionError, match="cut"):
        asyncio.run(run())
    assert seen[-1] == "xy"


def test_cancelling_the_consumer_closes_the_source() -> None:
    log: list[str] = []

    async def run() -> None:
        async def consume() -> None:
            async for _ in coalesce(source([str(i) for i in range(1000)], 0.01, log), 0.05):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert log == ["closed"]


def test_many_answers_at_once_share_a_bounded_update_rate() -> None:
    """One answer updates every 50 ms; with 200 at once each slows down (to at most 4 a second)."""
    pieces = [f"{i} " for i in range(60)]  # a piece every 10 ms for 0.6 s

    async def answers(n: int) -> list[list[tuple[float, str]]]:
        return await asyncio.gather(*(collect(coalesce(source(pieces, 0.01, []))) for _ in range(n)))

    alone = asyncio.run(answers(1))[0]
    crowd = asyncio.run(answers(200))
    assert alone[-1][1] == "".join(pieces) and len(alone) >= 8
    assert all(updates[-1][1] == "".join(pieces) for updates in crowd)
    # The first piece still goes out at once: counted in pieces, not seconds, so a busy machine
    # (which slows the source as much as the coalescer) cannot fail it.
    assert all(updates[0][1] == pieces[0] for updates in crowd)
    # At most 4 updates a second each (+ the first and the last), over however long the answers
    # took: a busy machine stretches the 0.6 s, and the bound with it.
    assert all(len(updates) <= 4 * updates[-1][0] + 2 for updates in crowd)


def test_a_long_conversation_on_the_page_gets_fewer_updates_and_still_the_last_piece_at_once() -> None:
    """Each update costs the browser time in proportion to the conversation on screen: the page
    asks for a longer pause when it shows a long one (bounded), and the end is never held back."""
    assert page_floor(0) == 0.0
    assert 0.0 < page_floor(30_000) < page_floor(100_000) <= MAX_FLOOR
    assert page_floor(10**9) == MAX_FLOOR <= 0.5

    ended: list[float] = []

    async def steady() -> AsyncIterator[str]:
        for i in range(60):  # 1.2 s of tokens, 20 ms apart
            yield f"{i} "
            await asyncio.sleep(0.02)
        ended.append(time.monotonic())

    async def stamped(floor: float) -> list[tuple[float, str]]:
        updates, text = [], ""
        async for batch in coalesce(steady(), interval=0.05, floor=floor):
            text += "".join(batch)
            updates.append((time.monotonic(), text))
        return updates

    plain = asyncio.run(stamped(0.0))
    long = asyncio.run(stamped(page_floor(10**9)))
    assert long[-1][1] == plain[-1][1] == "".join(f"{i} " for i in range(60))
    # One update per 0.5 s, the first and the last included: 5 for the 1.2 s the source takes
    # on an idle machine; counted against how long it took here (a busy machine stretches it).
    began = long[0][0]
    assert len(long) <= 2 + (ended[-1] - began) / (MAX_FLOOR - 0.05) and len(long) < len(plain)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(long[:-1])]
    assert all(gap >= MAX_FLOOR - 0.05 for gap in gaps)
    assert long[-1][0] - ended[-1] < 0.2  # the end is shown at once, not after another pause


def test_the_page_asks_for_fewer_updates_when_it_shows_a_long_conversation() -> None:
    """The page's turn carries the floor for the conversation on screen (its text, not its count)."""
    from llmchat.core.controls import VISITOR_CONTROLS
    from llmchat.web.chat_page import turn_request

    widgets = [None] * len(VISITOR_CONTROLS)
    long = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x" * 100_000}]
    short = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "hi"}]
    assert turn_request("q", [], long, "p", widgets, "", None).update_floor == MAX_FLOOR
    assert turn_request("q", [], short, "p", widgets, "", None).update_floor < 0.001
