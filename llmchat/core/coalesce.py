"""Coalesce a stream of pieces into a bounded rate of UI updates.

Every update a chat function yields costs Gradio a copy of the conversation, a diff and a message
to the browser, and costs the browser a re-layout of the whole answer. One update per token makes
both grow with the square of the answer's length. So the pieces are gathered and the growing text
are handed on in batches at most every ``interval`` seconds - except the first piece, which goes out at once
(time to first token is what a visitor feels), and the last, which is never held back.

A reader task drains the source while the consumer is busy, so a piece never waits for the next
one to be shown: it is shown within ``interval`` even if the server then pauses.

With many answers streaming at once the interval grows (:func:`shared_interval`), so the whole
process sends at most about ``UPDATES_PER_SECOND`` updates: each costs Gradio ~0.7 ms of CPU
(measured with 100 visitors), and one busy process must still take new visitors' questions at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TypeVar

DEFAULT_INTERVAL = 0.05
MAX_INTERVAL = 0.25  # slower than this and the text visibly jumps
UPDATES_PER_SECOND = 400  # for the whole process, shared by all streaming answers
MAX_FLOOR = 0.5  # the longest pause a consumer may ask for: the text still moves twice a second
FLOOR_CHARS = 150_000  # characters on screen per second of pause (see page_floor)
T = TypeVar("T")

_streaming = 0  # answers being coalesced right now, in this process


def shared_interval() -> float:
    """The update interval for each answer, given how many are streaming at once."""
    return min(MAX_INTERVAL, max(DEFAULT_INTERVAL, _streaming / UPDATES_PER_SECOND))


def page_floor(chars_on_screen: int) -> float:
    """The pause between updates for a page that shows ``chars_on_screen`` characters of earlier
    conversation. Gradio's Chatbot handles its whole value again at every update in the browser
    (a copy of it, and every message's Markdown parsed again), so an update costs the page time in
    proportion to the conversation: measured, ~0.1-0.3 s for 100 turns of Markdown and code
    (``benchmarks/long_history``). At 20 updates a second the page fell behind and showed the end
    of an answer seconds after the server's last token; with fewer updates it keeps up."""
    return min(MAX_FLOOR, max(0.0, chars_on_screen / FLOOR_CHARS))


async def coalesce(
    pieces: AsyncIterator[T], interval: float | None = None, floor: float = 0.0
) -> AsyncIterator[list[T]]:
    """Yield the pieces in batches: at once for the first, then at most every ``interval`` seconds.

    ``interval=None`` follows :func:`shared_interval`, re-read after every update. ``floor``: the
    shortest pause the consumer asks for (capped at ``MAX_FLOOR``) - a page showing a long
    conversation, where each update costs the browser more (see :func:`page_floor`).

    Exceptions of the source are raised here after the pieces that arrived before them were yielded.
    Closing or cancelling this generator cancels the reader, which closes the source.
    """
    buffer: list[T] = []
    arrived = asyncio.Event()
    failure: list[BaseException] = []

    async def read() -> None:
        try:
            async for piece in pieces:
                buffer.append(piece)
                arrived.set()
        except Exception as exc:
            failure.append(exc)
        finally:
            arrived.set()

    global _streaming
    reader = asyncio.create_task(read())
    _streaming += 1
    try:
        while True:
            await arrived.wait()
            arrived.clear()
            finished = reader.done()
            if buffer:
                batch = buffer[:]
                buffer.clear()
                yield batch
            if finished:
                break
            pause = shared_interval() if interval is None else interval
            pause_until = time.monotonic() + max(pause, min(floor, MAX_FLOOR))
            # Hold off the next update, but wake early when the source ends.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), max(0.0, pause_until - time.monotonic()))
        if buffer:  # pieces appended between the last check and the reader's end
            batch = buffer[:]
            buffer.clear()
            yield batch
        if failure:
            raise failure[0]
    finally:
        _streaming -= 1
        if not reader.done():
            reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        aclose = getattr(pieces, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
