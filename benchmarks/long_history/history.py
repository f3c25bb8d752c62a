"""Saved conversations as the page keeps them: documents built with the app's own tree and
:func:`~llmchat.core.conversation_store.stored`, and the local storage entries ``llmchat.js``
writes for them (``llmchat-c:<id>`` per conversation, the ``llmchat-index`` list)."""

from __future__ import annotations

import json
from typing import Any

from llmchat.core.conversation_store import Conversation, stored
from llmchat.core.conversation_tree import Tree

CODE = '''```python
def moving_average(values: list[float], window: int = {w}) -> list[float]:
    """The mean of each run of `window` values (turn {i})."""
    if window < 1:
        raise ValueError("window must be at least 1")
    out = []
    total = sum(values[:window])
    out.append(total / window)
    for k in range(window, len(values)):
        total += values[k] - values[k - window]
        out.append(total / window)
    return out
```'''


def answer_markdown(i: int) -> str:
    """An earlier answer as a model writes them: a heading, prose, a list, code, a table."""
    return (
        f"## Part {i}: a moving average\n\n"
        f"Here is **one way** to do it in turn {i}, with `sum` kept *incrementally* so each step "
        "costs O(1) instead of O(window). It works for any iterable of numbers.\n\n"
        "- keep a running `total`\n- add the value entering the window\n"
        "- subtract the value leaving it\n\n"
        + CODE.format(w=3 + i % 5, i=i)
        + "\n\n| window | calls | time |\n| --- | ---: | ---: |\n"
        f"| {3 + i % 5} | {i * 10} | {i * 0.5:.1f} ms |\n| 10 | {i * 3} | 1.2 ms |\n\n"
        "> Note: for very long inputs `numpy.convolve` is faster still.\n"
    )


def question_text(i: int) -> str:
    return f"Question {i}: how do I compute a moving average over `values` in Python?"


def conversation(cid: str, title: str, turns: int, updated: int, last: str = "") -> dict[str, Any]:
    """A stored document of ``turns`` questions and answers; ``last`` ends its last answer (a
    marker to see it on screen)."""
    tree = Tree()
    for i in range(1, turns + 1):
        _, answer = tree.ask({"role": "user", "content": [{"type": "text", "text": question_text(i)}]})
        text = answer_markdown(i) + (f"\n{last}" if i == turns and last else "")
        tree.answer(answer, [{"role": "assistant", "content": text}], "120 tokens · 2.1 s", done=True)
    conv = Conversation(id=cid, tree=tree, title=title, titled=True, created=updated, updated=updated)
    return stored(conv)


def storage(docs: list[dict[str, Any]], open_id: str | None = None) -> dict[str, str]:
    """The local storage entries ``llmchat.js`` keeps for ``docs`` (its ``keep()``), and the open
    conversation's id under ``llmchat-open`` (the one the page opens on load)."""
    items: dict[str, str] = {}
    index = []
    for doc in docs:
        text = json.dumps(doc, ensure_ascii=False)
        items["llmchat-c:" + doc["id"]] = text
        index.append({"id": doc["id"], "title": doc["title"], "updated": doc["updated"], "chars": len(text)})
    index.sort(key=lambda e: -e["updated"])
    items["llmchat-index"] = json.dumps(index, ensure_ascii=False)
    if open_id:
        items["llmchat-open"] = open_id
    return items


def many(
    count: int, long_ids: tuple[str, ...] = (), turns: int = 100, small_turns: int = 3
) -> list[dict[str, Any]]:
    """``count`` saved conversations: ``long_ids`` with ``turns`` turns each, the rest short."""
    base = 1_700_000_000_000
    docs = []
    for k, cid in enumerate(long_ids):
        docs.append(
            conversation(cid, f"Long conversation {cid}", turns, base + 10_000_000 + k, f"END-OF-{cid}")
        )
    for k in range(count - len(long_ids)):
        docs.append(conversation(f"small{k:03d}", f"Saved conversation {k}", small_turns, base + k))
    return docs
