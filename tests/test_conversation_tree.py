"""The conversation tree (variants and branches) and the browser's copy of it, without a browser.

The tree's rules: Retry and Edit add, never replace; the branch on screen is one path, and it is
both what the chat shows and the history a turn sends. What the browser sends back is untrusted:
forged parents, roles, sizes and cycles are dropped, and everything is bounded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmchat.core import conversation_store as store
from llmchat.core import tree_file
from llmchat.core.conversation_store import Conversation, stored, title_from
from llmchat.core.conversation_tree import ROOT, Tree
from llmchat.core.limits import DEFAULT_LIMITS
from llmchat.core.messages import content_text
from llmchat.core.presets import PresetCatalog, load_catalog
from llmchat.web.uploads import upload_root


def q(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def a(text: str) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": [{"type": "text", "text": text}]}]


def shown(tree: Tree) -> list[str]:
    return [content_text(m["content"]) for m in tree.history()]


def answered(tree: Tree, text: str, reply: str) -> int:
    _, answer = tree.ask(q(text))
    tree.answer(answer, a(reply), done=True)
    return answer


@pytest.fixture
def catalog(config_dir: Path) -> PresetCatalog:
    return load_catalog(config_dir, environ={})


def test_retry_adds_a_variant_and_the_one_on_screen_is_the_history() -> None:
    tree = Tree()
    answered(tree, "q1", "first")
    question = tree.path()[0]
    again = tree.retry(question)
    tree.answer(again, a("second"), done=True)
    assert shown(tree) == ["q1", "second"]
    assert [(p.position, p.count) for p in tree.pagers() if p] == [(2, 2)]
    assert tree.flip(again, -1) and shown(tree) == ["q1", "first"]
    assert not tree.flip(tree.path()[1], -1)  # at the first variant already
    answered(tree, "q2", "r2")
    assert shown(tree) == ["q1", "first", "q2", "r2"]  # the next turn follows the variant shown
    tree.flip(tree.path()[1], +1)
    assert shown(tree) == ["q1", "second"]  # the other variant has no later turns
    tree.flip(tree.path()[1], -1)
    assert shown(tree) == ["q1", "first", "q2", "r2"]  # and going back finds them again


def test_edit_branches_and_history_before_a_node_is_what_is_above_it() -> None:
    tree = Tree()
    answered(tree, "q1", "r1")
    answered(tree, "q2", "r2")
    second = tree.path()[2]
    assert [m["content"][0]["text"] for m in tree.before(second)] == ["q1", "r1"]
    _, answer = tree.edit(second, q("q2 edited"))
    tree.answer(answer, a("r2 edited"), done=True)
    assert shown(tree) == ["q1", "r1", "q2 edited", "r2 edited"]
    tree.flip(tree.path()[2], -1)
    assert shown(tree) == ["q1", "r1", "q2", "r2"]
    tree.remove(tree.path()[2])  # Undo of the old branch's question: the edited one is shown
    assert shown(tree) == ["q1", "r1", "q2 edited", "r2 edited"]


def test_linear_history_becomes_one_branch_and_a_greeting_is_kept() -> None:
    history = [*a("Hello! Ask me anything."), q("hi"), *a("hi there"), *a("(stats)"), q("bye")]
    tree = Tree.linear(history)
    assert shown(tree) == ["Hello! Ask me anything.", "hi", "hi there", "(stats)", "bye"]
    assert title_from(tree) == "hi"  # the first question names it, not the greeting


def test_the_browsers_copy_round_trips(catalog: PresetCatalog) -> None:
    conversation = Conversation(title="mine", titled=True)
    answered(conversation.tree, "q1", "r1")
    conversation.tree.retry(conversation.tree.path()[0])
    conversation.tree.answer(2, a("r1 again"), done=True)
    conversation.tree.set_feedback(2, "up")
    document = json.loads(json.dumps(stored(conversation)))
    restored = store.restore(document, catalog, upload_root())
    assert restored is not None
    back = restored.conversation
    assert (back.id, back.heading(), shown(back.tree)) == (conversation.id, "mine", ["q1", "r1 again"])
    assert back.tree.nodes[2].feedback == "up"


def forged(nodes: list[Any], **extra: Any) -> dict[str, Any]:
    return {"format": "llmchat-conversation", "version": 2, "id": "c1", "nodes": nodes, **extra}


def node(role: str, parent: Any, text: str = "x", **extra: Any) -> dict[str, Any]:
    return {
        "role": role,
        "parent": parent,
        "messages": a(text) if role == "assistant" else [q(text)],
        **extra,
    }


@pytest.mark.parametrize(
    ("nodes", "kept"),
    [
        ([node("user", ROOT), node("assistant", 0), node("user", 5)], 2),  # a parent from the future
        ([node("user", ROOT), node("user", 0)], 1),  # two questions in a row
        ([node("user", ROOT), node("assistant", 0), node("assistant", 1)], 2),  # two answers in a row
        ([node("user", 0)], 0),  # its own parent: a cycle
        ([node("user", True), node("system", ROOT), "junk", None], 0),  # not a parent; not a role
        ([node("user", ROOT), node("assistant", 0, feedback="<b>", stats=7, selected=-3)], 2),
        ([{**node("user", ROOT), "messages": [q("a"), q("b")]}], 0),  # a question is one message
    ],
)
def test_forged_nodes_are_dropped_with_what_hangs_under_them(
    catalog: PresetCatalog, nodes: list[Any], kept: int
) -> None:
    restored = store.restore(forged(nodes), catalog, upload_root())
    assert restored is not None
    tree = restored.conversation.tree
    assert len(tree.nodes) == kept
    for n in tree.nodes:
        assert n.feedback in (None, "up", "down") and isinstance(n.stats, str) and n.selected >= 0


def test_the_browsers_copy_is_bounded(catalog: PresetCatalog) -> None:
    many = [node("user" if i % 2 == 0 else "assistant", i - 1) for i in range(5000)]
    tree = store.restore(forged(many), catalog, upload_root())
    assert tree is not None and len(tree.conversation.tree.nodes) <= DEFAULT_LIMITS.max_history_messages
    huge = "y" * (DEFAULT_LIMITS.max_history_chars + 10)
    restored = store.restore(forged([node("user", ROOT, huge)]), catalog, upload_root())
    assert restored is not None and restored.conversation.tree.nodes == []
    for bad in (None, [], "x", {"format": "other"}, forged("nodes"), {**forged([]), "version": 99}):
        result = store.restore(bad, catalog, upload_root())
        assert result is None or result.conversation.tree.nodes == []


def test_an_export_all_file_imports_every_conversation_and_a_too_big_one_none(catalog: PresetCatalog) -> None:
    conversation = Conversation()
    answered(conversation.tree, "q1", "r1")
    conversation.tree.retry(0)
    conversation.tree.answer(2, a("r1 again"), done=True)
    settings = tree_file.files.Settings.of(catalog.presets["test-chat"])
    attach = tree_file.files.export_files(upload_root(), DEFAULT_LIMITS)
    document = tree_file.export_document(conversation, settings, "test-model", attach)
    data = tree_file.export_all([document, document]).encode()
    imported = tree_file.parse_import(data, catalog, upload_root())
    assert len(imported) == 2
    assert shown(imported[0][0].tree) == ["q1", "r1 again"] and len(imported[0][0].tree.nodes) == 3
    too_many = json.dumps({"format": "llmchat-conversations", "conversations": [document] * 301}).encode()
    with pytest.raises(tree_file.ImportProblem):
        tree_file.parse_import(too_many, catalog, upload_root())
