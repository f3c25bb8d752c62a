"""Export and import of conversations with their variants (format version 2), one or all.

An export is still what version 1 was — OpenAI ``messages`` of the conversation on screen (system
prompt first, attachments as the model received them) plus the preset, model and controls — so
other tools and older llmchat read it as before. Version 2 adds ``nodes``: every question and
answer of the tree (:mod:`llmchat.core.conversation_tree`), each with its OpenAI content, its
parent, which child is shown, and the visitor's 👍/👎. Import reads ``nodes`` when present (every
variant comes back), else ``messages`` (one branch), else a bare list of OpenAI messages.

"Export all" writes ``{"format": "llmchat-conversations", "conversations": [...]}``, one
single-conversation document per entry; Import reads either shape. Everything read is checked like
browser storage is (:func:`llmchat.core.conversation_store.restore_tree`), and bounded in count.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llmchat.core import conversation_file as files
from llmchat.core.attachments import RequestFiles
from llmchat.core.conversation_file import FORMAT, ImportProblem, Settings
from llmchat.core.conversation_store import Conversation, restore_tree, summary_of, title_from
from llmchat.core.conversation_tree import Node, Tree
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.messages import Message, clean_text, content_text, history_to_messages, is_note
from llmchat.core.presets import PresetCatalog

ALL_FORMAT = "llmchat-conversations"
VERSION = 2
MAX_CONVERSATIONS = 300  # kept in one browser; and at most this many in one Import


def _node_content(node: Node, attach: RequestFiles) -> Any:
    """A node as OpenAI content: a question with its attachments, or an answer's text (notes left out)."""
    if node.role == "user":
        turns = history_to_messages([*node.messages, {"role": "assistant", "content": ""}], attach.history)
        return turns[0]["content"] if turns else ""
    return "".join(clean_text(content_text(m.get("content"))) for m in node.messages if not is_note(m))


def export_document(
    conversation: Conversation, settings: Settings, model_name: str, attach: RequestFiles
) -> dict[str, Any]:
    """One conversation as an export: the branch on screen as ``messages``, every variant in ``nodes``."""
    tree = conversation.tree
    messages: list[Message] = files.openai_messages(tree.history(), settings.values["system_prompt"], attach)
    nodes = []
    for node in tree.nodes:
        item: dict[str, Any] = {
            "role": node.role,
            "parent": node.parent,
            "content": _node_content(node, attach),
        }
        if node.selected:
            item["selected"] = node.selected
        if node.feedback:
            item["feedback"] = node.feedback
        nodes.append(item)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "title": conversation.heading(),
        **settings.as_dict(),
        "model": model_name,
        "messages": messages,
        "nodes": nodes,
        "selected": tree.selected,
        **({"summary": conversation.summary.model_dump()} if conversation.summary else {}),
    }


def export_all(documents: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "format": ALL_FORMAT,
            "version": VERSION,
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "conversations": documents,
        },
        ensure_ascii=False,
        indent=1,
    )


def _tree_from_nodes(raw: list[Any], selected: Any, root: Path, folder: Path, limits: VisitorLimits) -> Tree:
    """``nodes`` of an export as a checked tree (content converted the way Import converts messages)."""
    stored_nodes = []
    for index, item in enumerate(raw[: limits.max_history_messages], start=1):
        if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
            raise ImportProblem(
                "import_bad_role",
                index=index,
                role=str(item.get("role") if isinstance(item, dict) else item)[:20],
            )
        content = files.history_content({"role": item["role"], "content": item.get("content")}, index, folder)
        stored_nodes.append(
            {
                "role": item["role"],
                "parent": item.get("parent"),
                "messages": [{"role": item["role"], "content": content}],
                "selected": item.get("selected", 0),
                "feedback": item.get("feedback"),
            }
        )
    return restore_tree({"nodes": stored_nodes, "selected": selected}, root, limits)


def _conversation(
    document: Any, catalog: PresetCatalog, root: Path, limits: VisitorLimits
) -> tuple[Conversation, files.Snapshot]:
    """One exported conversation (v1, v2 or a bare message list) as a new conversation."""
    snapshot = files.parse_document(document, catalog, root)
    nodes = document.get("nodes") if isinstance(document, dict) else None
    tree = Tree.linear(snapshot.history)
    if isinstance(nodes, list) and nodes:
        folder = root / "llmchat-imports" / uuid.uuid4().hex
        from_nodes = _tree_from_nodes(nodes, document.get("selected", 0), root, folder, limits)
        if from_nodes.nodes:
            tree = from_nodes
    title = document.get("title") if isinstance(document, dict) else None
    conversation = Conversation(tree=tree, settings=snapshot.settings)
    if isinstance(document, dict):
        conversation.summary = summary_of(document.get("summary"))
    if isinstance(title, str) and " ".join(title.split()) and " ".join(title.split()) != title_from(tree):
        conversation.title, conversation.titled = " ".join(title.split())[:120], True
    return conversation, snapshot


def parse_import(
    data: bytes,
    catalog: PresetCatalog,
    root: Path,
    max_bytes: int = files.MAX_IMPORT_BYTES,
    limits: VisitorLimits = DEFAULT_LIMITS,
) -> list[tuple[Conversation, files.Snapshot]]:
    """Every conversation in an exported file (one, or an "Export all" file), checked completely:
    an invalid one raises :class:`ImportProblem` and nothing is imported."""
    if len(data) > max_bytes:
        raise ImportProblem("import_too_large", limit=f"{max_bytes / 1_000_000:g}")
    document = files.load_json(data)
    if isinstance(document, dict) and document.get("format") == ALL_FORMAT:
        items = document.get("conversations")
        if not isinstance(items, list) or not items:
            raise ImportProblem("import_not_conversation")
        if len(items) > MAX_CONVERSATIONS:
            raise ImportProblem("import_too_many_conversations", count=len(items), limit=MAX_CONVERSATIONS)
        return [_conversation(item, catalog, root, limits) for item in items]
    return [_conversation(document, catalog, root, limits)]
