"""The summary as the page keeps and asks for it: "Summarize older turns"
(:meth:`ChatService.summarize`, whatever the preset's ``overflow``, with or without a window), the
visitor's summary used by a preset that drops and where no window is known, the edit, the
summary kept with the conversation (browser storage, export, import), and the gauge's button."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmchat.core import conversation_store as store
from llmchat.core import kept_summary, tree_file
from llmchat.core.attachments import RequestFiles
from llmchat.core.conversation_file import Settings
from llmchat.core.conversation_store import Conversation
from llmchat.core.conversation_tree import Tree
from llmchat.core.gauge import ContextGauge
from llmchat.core.notices import Notice
from llmchat.core.presets import load_catalog
from llmchat.core.summary import Summary, fingerprint
from llmchat.core.turn import TurnView
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.web.context_gauge import render
from tests.test_summaries import SummarizingFake


def history(turns: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(turns):
        question = f"question {n} " + " ".join(["word"] * 12)
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": f"Echo: {question}"}]
    return out


@pytest.fixture
def fake() -> SummarizingFake:
    return SummarizingFake()


@pytest.fixture
def service(config_dir: Path, fake: SummarizingFake) -> ChatService:
    """The test presets: ``test-chat`` drops what does not fit (the default) and has no window."""
    return ChatService(load_catalog(config_dir, environ={}), upstream=fake)


def summarize(service: ChatService, request: TurnRequest) -> Summary | Notice:
    return asyncio.run(service.summarize(request))


async def _last(service: ChatService, request: TurnRequest) -> TurnView:
    return [v async for v in service.turn(request)][-1]


def test_summarize_makes_the_summary_of_what_a_dropping_preset_would_leave_out(
    service: ChatService, fake: SummarizingFake
) -> None:
    fake.window_size = 1200
    past = history(8)
    planned = asyncio.run(_last(service, TurnRequest("next", "test-chat", history=past)))
    left_out = planned.before[0].params["count"]
    assert planned.before[0].kind == "history_trimmed" and fake.summary_bodies == []
    made = summarize(service, TurnRequest("next", "test-chat", history=past))
    asked = len(fake.summary_bodies)
    assert isinstance(made, Summary) and asked >= 1
    assert len(past) > made.covers >= left_out and made.fingerprint == fingerprint(past[: made.covers])
    # Later turns of that preset send it (byte for byte) in place of the turns it covers.
    view = asyncio.run(_last(service, TurnRequest("next", "test-chat", history=past, summary=made)))
    sent = fake.bodies[-1]["messages"]
    assert sent[0]["content"].endswith(made.text) and view.summary == made
    assert sent[1] == past[made.covers]
    assert len(fake.summary_bodies) == asked
    # With nothing left out there is nothing to summarize, and nothing is asked.
    assert summarize(service, TurnRequest("hi", "test-chat", history=history(1))) == Notice("summary_nothing")
    assert len(fake.summary_bodies) == asked


def test_without_a_window_it_summarizes_all_but_the_last_exchange_and_turns_send_it(
    service: ChatService, fake: SummarizingFake
) -> None:
    past = history(5)
    made = summarize(service, TurnRequest("", "test-chat", history=past))
    assert isinstance(made, Summary) and made.covers == 8
    assert "question 3 " in fake.summary_bodies[0]["messages"][1]["content"]
    assert "question 4 " not in fake.summary_bodies[0]["messages"][1]["content"]
    view = asyncio.run(_last(service, TurnRequest("next", "test-chat", history=past, summary=made)))
    sent = fake.bodies[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"].startswith("You are the test assistant.\n\nSummary of the earlier part")
    assert sent[0]["content"].endswith(made.text) and sent[1] == past[8]
    assert view.before == [Notice("summary_used", count=8, kept=2)] and view.summary == made
    # Asked again later, it extends the summary it has with the messages since.
    longer = [*past, *history(7)[10:]]
    again = summarize(service, TurnRequest("", "test-chat", history=longer, summary=made))
    assert isinstance(again, Summary) and again.covers == 12
    assert fake.summary_bodies[-1]["messages"][1]["content"].startswith(f"Summary so far:\n{made.text}")


def test_a_summary_of_another_branch_is_not_used_by_a_preset_that_drops(
    service: ChatService, fake: SummarizingFake
) -> None:
    fake.window_size = 1200
    past = history(8)
    made = summarize(service, TurnRequest("next", "test-chat", history=past))
    assert isinstance(made, Summary)
    asked = len(fake.summary_bodies)
    other = [{"role": "user", "content": "another first question"}, *past[1:]]
    view = asyncio.run(_last(service, TurnRequest("next", "test-chat", history=other, summary=made)))
    assert view.summary is None and view.before[0].kind == "history_trimmed"
    assert made.text not in fake.bodies[-1]["messages"][0]["content"]
    assert len(fake.summary_bodies) == asked  # and nothing more was asked


def test_a_summary_that_cannot_be_made_changes_nothing(service: ChatService, fake: SummarizingFake) -> None:
    fake.fail = RuntimeError("server down")
    result = summarize(service, TurnRequest("", "test-chat", history=history(4)))
    assert result == Notice("summary_not_made", detail="RuntimeError")
    assert summarize(service, TurnRequest("", "test-qa", history=history(4))) == Notice("summary_nothing")


def test_the_summary_is_kept_with_the_conversation_edited_exported_and_imported(
    config_dir: Path, tmp_path: Path
) -> None:
    catalog = load_catalog(config_dir, environ={})
    past = history(3)
    conversation = Conversation(tree=Tree.linear(past))
    summary = Summary(text="They talked about trains.", covers=2, fingerprint=fingerprint(past[:2]))
    view = TurnView(answer="yes", summary=summary)
    kept_summary.after_turn(conversation, view)
    assert conversation.summary == summary and not conversation.overflowed
    # A failed turn keeps it; a refusal as too long (no window known) is remembered for the button.
    kept_summary.after_turn(conversation, TurnView.of(Notice("bad_request_context", said="too long")))
    assert conversation.summary == summary and conversation.overflowed
    # A turn that sent no summary (a QA question, another branch) keeps it for when it applies.
    kept_summary.after_turn(conversation, TurnView(answer="a QA answer"))
    assert conversation.summary == summary and not conversation.overflowed
    assert kept_summary.edit(conversation, "  The visitor likes trains.\x00 ")
    assert conversation.summary.text == "The visitor likes trains."
    # Browser storage: kept, and read back checked (a forged one is dropped, the rest kept).
    document = json.loads(json.dumps(store.stored(conversation)))
    assert store.restore(document, catalog, None).conversation.summary == conversation.summary  # type: ignore[union-attr]
    document["summary"]["fingerprint"] = "not a fingerprint"
    restored = store.restore(document, catalog, None)
    assert restored is not None and restored.conversation.summary is None
    assert len(restored.conversation.tree.nodes) == 6
    # Export JSON, and Import of it.
    settings = Settings.of(catalog.presets["test-chat"])
    attach = RequestFiles(None, store.DEFAULT_LIMITS)
    exported = tree_file.export_document(conversation, settings, "test-model", attach)
    assert exported["summary"]["text"] == "The visitor likes trains."
    [(imported, _)] = tree_file.parse_import(json.dumps(exported).encode(), catalog, tmp_path)
    assert imported.summary == conversation.summary
    # Emptied by the visitor: removed.
    assert kept_summary.edit(conversation, "   ")
    assert conversation.summary is None and "summary" not in store.stored(conversation)
    assert not kept_summary.edit(conversation, "anything")


def test_the_gauge_offers_the_button_when_messages_are_left_out_or_a_turn_was_refused() -> None:
    fits = ContextGauge(used=100, window=512, estimated=False, max_tokens=64)
    left_out = ContextGauge(used=400, window=512, estimated=False, left_out=4, max_tokens=64)
    unknown = ContextGauge(used=None, window=None, estimated=True)
    assert "llmchat-summarize" not in render(fits, "en")
    assert "llmchat-summarize" not in render(unknown, "en")
    assert ">Summarize older turns</button>" in render(left_out, "en")
    assert ">古いやり取りを要約</button>" in render(left_out, "ja")
    assert 'aria-label="Have the model summarize' in render(unknown, "en", overflowed=True)
