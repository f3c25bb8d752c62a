"""One saved conversation as the visitor's browser keeps it (format version 2), and back.

The browser keeps many conversations, each under its own key (see ``llmchat/web/assets/
llmchat.js``), so opening one sends the server that one only, and 200 saved conversations cost
the page nothing until one is opened. What the browser sends back is untrusted like any visitor
input: :func:`restore` checks and bounds every field — the tree's shape (a parent before its
child, questions and answers alternating), its size (nodes and characters), each message's text
(made safe to show) and attachments (only files still in the upload folder) — and drops what is
not something llmchat wrote. Version 1 (one conversation, a flat history, under the
``gr.BrowserState`` key ``llmchat-conversation``) is still read: it becomes a one-branch tree.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmchat.core import conversation_file as files
from llmchat.core.conversation_file import FORMAT, ImportProblem, Settings
from llmchat.core.conversation_tree import ROOT, Node, Tree
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.messages import clean_text, content_text
from llmchat.core.presets import PresetCatalog
from llmchat.core.safe_markdown import safe_markdown
from llmchat.core.summary import Summary

VERSION = 2
MAX_TITLE_CHARS = 120
MAX_STATS_CHARS = 300
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def new_id() -> str:
    return "c" + secrets.token_hex(8)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Conversation:
    """The open conversation: who it is (``id``, its title), its tree, and its times (ms)."""

    id: str = field(default_factory=new_id)
    tree: Tree = field(default_factory=Tree)
    title: str = ""
    titled: bool = False  # the visitor renamed it: the first question no longer names it
    created: int = field(default_factory=now_ms)
    updated: int = field(default_factory=now_ms)
    settings: Settings | None = None  # the preset, model and controls it was last shown with
    # The summary sent in place of its older turns (made by a turn or on request, maybe edited
    # by the visitor): shown above the conversation, sent back with every turn.
    summary: Summary | None = None
    overflowed: bool = False  # its last turn was refused as too long (not kept: the page offers a summary)

    def heading(self) -> str:
        """Its title: the visitor's, else the first question's first line."""
        if self.titled and self.title:
            return self.title
        return title_from(self.tree) or self.title


def title_from(tree: Tree) -> str:
    """A title from the conversation's first question (its text, else its first file's name)."""
    first = next((i for i in tree.path() if tree.nodes[i].role == "user" and tree.nodes[i].messages), None)
    if first is None:
        return ""
    message = tree.nodes[first].messages[0]
    text = " ".join(content_text(message.get("content")).split())
    if not text:
        for name in (
            b.get("file", {}).get("orig_name") for b in message.get("content") or [] if isinstance(b, dict)
        ):
            if isinstance(name, str) and name:
                text = name
                break
    return text[: MAX_TITLE_CHARS - 1] + "…" if len(text) > MAX_TITLE_CHARS else text


def stored(conversation: Conversation) -> dict[str, Any]:
    """The document the browser keeps for ``conversation``."""
    nodes = []
    for node in conversation.tree.nodes:
        item: dict[str, Any] = {"role": node.role, "parent": node.parent, "messages": node.messages}
        if node.selected:
            item["selected"] = node.selected
        if node.stats:
            item["stats"] = node.stats
        if node.feedback:
            item["feedback"] = node.feedback
        if node.partial:
            item["partial"] = True
        nodes.append(item)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "id": conversation.id,
        "title": conversation.heading(),
        "titled": conversation.titled,
        "created": conversation.created,
        "updated": conversation.updated,
        "selected": conversation.tree.selected,
        "nodes": nodes,
    }
    if conversation.settings is not None:
        document.update(conversation.settings.as_dict())
    if conversation.summary is not None:
        document["summary"] = conversation.summary.model_dump()
    return document


def summary_of(value: Any) -> Summary | None:
    """A summary kept with a conversation (browser storage, an import), checked; None if unusable."""
    if not isinstance(value, dict):
        return None
    try:
        summary = Summary.model_validate(value)
    except ValidationError:
        return None
    return summary.model_copy(update={"text": clean_text(summary.text)})


@dataclass
class Restored:
    """A conversation from the browser, checked, and the settings it was had with (None: not
    usable here, keep the current ones). ``cut_off`` counts answers left mid-stream."""

    conversation: Conversation
    settings: Settings | None
    cut_off: int = 0


def _int(value: Any, default: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return min(max(value, low), high)


def _clean_messages(
    value: Any, role: str, root: Path | None, budget: list[int], limits: VisitorLimits
) -> list[dict[str, Any]] | None:
    """A node's messages, each cleaned like a v1 history message; None when unusable."""
    if not isinstance(value, list) or len(value) > 64:
        return None
    messages = []
    for message in value:
        if not isinstance(message, dict) or message.get("role") != role:
            return None
        clean = files.clean_history([message], root, limits)
        if not clean:
            continue
        budget[0] -= len(content_text(clean[0]["content"]))
        messages.append(clean[0])
    return messages if budget[0] >= 0 else None


def restore_tree(document: dict[str, Any], root: Path | None, limits: VisitorLimits = DEFAULT_LIMITS) -> Tree:
    """The tree of a v2 document, checked: bad nodes are dropped with everything below them,
    and no more than ``max_history_messages`` nodes and ``max_history_chars`` of text are kept."""
    raw = document.get("nodes")
    tree = Tree()
    if not isinstance(raw, list):
        return tree
    renumber: dict[int, int] = {ROOT: ROOT}
    budget = [limits.max_history_chars]
    for index, item in enumerate(raw[: limits.max_history_messages]):
        if not isinstance(item, dict):
            continue
        role, parent = item.get("role"), item.get("parent")
        if role not in ("user", "assistant") or isinstance(parent, bool) or not isinstance(parent, int):
            continue
        if parent >= index or parent not in renumber:
            continue  # a parent comes first; a dropped parent drops its children
        new_parent = renumber[parent]
        parent_role = None if new_parent == ROOT else tree.nodes[new_parent].role
        if (role == "user" and parent_role == "user") or (role == "assistant" and parent_role == "assistant"):
            continue  # questions and answers alternate (a conversation may open with an answer)
        messages = _clean_messages(item.get("messages"), role, root, budget, limits)
        if messages is None or (role == "user" and len(messages) != 1):
            if budget[0] < 0:
                break
            continue
        stats = item.get("stats")
        feedback = item.get("feedback")
        tree.nodes.append(
            Node(
                role,
                new_parent,
                messages,
                selected=_int(item.get("selected"), 0, 0, limits.max_history_messages),
                stats=safe_markdown(stats[:MAX_STATS_CHARS]) if isinstance(stats, str) else "",
                feedback=feedback if feedback in ("up", "down") else None,
                partial=item.get("partial") is True,
            )
        )
        renumber[index] = len(tree.nodes) - 1
    tree.selected = _int(document.get("selected"), 0, 0, limits.max_history_messages)
    return tree


def restore(
    value: Any, catalog: PresetCatalog, root: Path | None, limits: VisitorLimits = DEFAULT_LIMITS
) -> Restored | None:
    """A conversation the browser kept (version 2, or a version 1 one), checked; None if unusable."""
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        return None
    try:
        settings = files.settings_of_document(value, catalog)
    except ImportProblem:
        settings = None
    if value.get("version") == 1:
        snapshot = files.restore(value, catalog, root, limits)
        if snapshot is None or not snapshot.history:
            return None
        tree = Tree.linear(snapshot.history)
        return Restored(Conversation(tree=tree, settings=snapshot.settings), snapshot.settings)
    if value.get("version") != VERSION:
        return None
    tree = restore_tree(value, root, limits)
    ident = value.get("id")
    title = value.get("title")
    conversation = Conversation(
        id=ident if isinstance(ident, str) and _ID.match(ident) else new_id(),
        tree=tree,
        title=" ".join(title.split())[:MAX_TITLE_CHARS] if isinstance(title, str) else "",
        titled=value.get("titled") is True,
        created=_int(value.get("created"), now_ms(), 0, 2**53),
        updated=_int(value.get("updated"), now_ms(), 0, 2**53),
    )
    conversation.settings = settings
    conversation.summary = summary_of(value.get("summary"))
    return Restored(conversation, settings, sum(node.partial for node in tree.nodes))
