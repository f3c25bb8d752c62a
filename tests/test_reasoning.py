"""Splitting <think>…</think> from the answer, with tags cut anywhere across chunks."""

from __future__ import annotations

import pytest

from llmchat.core.reasoning import ThinkSplitter

TEXT = "<think>\nLet me think: 2+2.\n</think>\n\nThe answer is 4 (not <think>)."


def run(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    thought, answer = "", ""
    for piece in pieces:
        t, a = splitter.feed(piece)
        thought, answer = thought + t, answer + a
    t, a = splitter.flush()
    return thought + t, answer + a


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, len(TEXT)])
def test_tags_split_across_chunks_land_in_the_right_place(size: int) -> None:
    pieces = [TEXT[i : i + size] for i in range(0, len(TEXT), size)]
    assert run(pieces) == ("Let me think: 2+2.\n", "The answer is 4 (not <think>).")


def test_text_without_tags_is_all_answer_and_not_delayed() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == ("", "Hello")
    assert splitter.feed(" <b>world</b>") == ("", " <b>world</b>")


def test_thinking_streams_live_before_the_close_tag_arrives() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>step one, ") == ("step one, ", "")
    assert splitter.thinking
    assert splitter.feed("step two</th") == ("step two", "")
    assert splitter.feed("ink>Done") == ("", "Done")
    assert not splitter.thinking


def test_unclosed_thinking_stays_thinking() -> None:
    assert run(["<think>never ", "finished"]) == ("never finished", "")


def test_a_lone_less_than_sign_at_the_start_is_released_at_the_end() -> None:
    assert run(["<"]) == ("", "<")
    assert run(["<", "3 you"]) == ("", "<3 you")
