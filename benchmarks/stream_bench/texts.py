"""The answers the benchmark asks the fake LLM server for, and how a wrong one differs."""

from __future__ import annotations

from llmchat.testing.scripting import split_tokens


def tok_text(n: int) -> str:
    """What the test server streams for ``tokens=n``."""
    return " ".join(f"tok{i}" for i in range(n))


JAPANESE = ["日本語の答えです。", "「ストリーミング」を確認、", "漢字とかなカナ。", "東京は晴れ。"]


def mixed_text(n: int) -> str:
    """An answer of exactly ``n`` stream tokens, ASCII words mixed with Japanese sentences.

    The test server streams long Japanese runs one character per chunk, so multi-byte text is cut
    at every possible place; nothing in it means anything to Markdown, so the rendered text must
    equal it character for character.
    """
    parts: list[str] = []
    count = i = 0
    while count < n:
        if i % 9 == 8 and n - count > 20:
            piece = JAPANESE[(i // 9) % len(JAPANESE)] + " "
            count += len(split_tokens(piece))
        else:
            piece = f"w{i} "
            count += 1
        parts.append(piece)
        i += 1
    text = "".join(parts).rstrip()
    assert len(split_tokens(text)) == n, (n, len(split_tokens(text)))
    return text


def crowd_reply(visitor: int, n: int) -> str:
    """A different answer for every visitor, so text crossing sessions would be caught."""
    return " ".join(f"日本{visitor % 100}" if i % 20 == 10 else f"v{visitor}w{i}" for i in range(n))


def first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"first difference at char {i}: {a[i : i + 20]!r} vs {b[i : i + 20]!r}"
    return f"lengths {len(a)} vs {len(b)}"
