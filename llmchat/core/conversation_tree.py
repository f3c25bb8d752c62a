"""A conversation with answer variants and edited questions: a tree kept as a flat list.

Retry keeps the earlier answer and adds another (``2/2``, flipped with ←/→); editing a question
adds a sibling question and keeps the old branch reachable the same way. So a conversation is a
tree that alternates questions and answers:

* the root's children are the first questions (an edited first question is a sibling), or an
  imported conversation's opening message from the assistant;
* a question's children are its answers (Retry adds one);
* an answer's children are the next questions (an edited next question is a sibling).

Each node remembers which of its children is shown (``selected``), so the conversation on screen
is one path from the root, following the selection at every node: :meth:`Tree.path`. That path
is what the chat shows (:meth:`Tree.history`) and what a later turn sends as history — the variant
on screen, nothing else. Switching a variant changes one ``selected``; the branches below each
keep their own selection, so going back shows what was last seen there.

Why a flat list with parent indexes and not nested dicts: a conversation comes back from the
browser and from files, and a flat list is checked and bounded in one loop, with no recursion
however deep the conversation (a nested document of 2,000 turns would be 2,000 levels deep).

A node holds Gradio chat messages: a question is one user message (text and file blocks); an
answer is the assistant messages of one turn (notices, thinking, the answer text), plus the
answer's stats line, the visitor's feedback and whether it was cut off. Pure data, no Gradio.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]
Feedback = Literal["up", "down"]
ROOT = -1


@dataclass
class Node:
    """One question or one answer. ``parent`` is a node index, or :data:`ROOT`."""

    role: Role
    parent: int
    messages: list[dict[str, Any]]
    selected: int = 0  # which child is shown, by position among this node's children
    stats: str = ""  # the answer's stats line, shown muted under it (not part of Copy)
    feedback: Feedback | None = None
    partial: bool = False  # still streaming when it was kept: cut off if the page went away


@dataclass
class Pager:
    """Where a shown node stands among its siblings: ``position`` of ``count`` (1-based)."""

    node: int
    position: int
    count: int


@dataclass
class Tree:
    """The nodes in creation order (a parent always comes before its children)."""

    nodes: list[Node] = field(default_factory=list)
    selected: int = 0  # which of the root's children is shown

    # --- reading ---------------------------------------------------------------------------------

    def children(self, index: int) -> list[int]:
        """The children of node ``index`` (or of the root), oldest first."""
        return [i for i, node in enumerate(self.nodes) if node.parent == index]

    def _selected_child(self, index: int) -> int | None:
        kids = self.children(index)
        if not kids:
            return None
        chosen = self.selected if index == ROOT else self.nodes[index].selected
        return kids[min(max(chosen, 0), len(kids) - 1)]

    def path(self) -> list[int]:
        """The nodes on screen, from the first question to the last shown node."""
        out: list[int] = []
        index: int | None = self._selected_child(ROOT)
        while index is not None:
            out.append(index)
            index = self._selected_child(index)
        return out

    def history(self, path: list[int] | None = None) -> list[dict[str, Any]]:
        """The chat messages of ``path`` (default: the one on screen), in order."""
        return [
            message
            for index in (self.path() if path is None else path)
            for message in self.nodes[index].messages
        ]

    def pagers(self) -> list[Pager | None]:
        """For each node on screen, its place among its siblings (None when it has none)."""
        out: list[Pager | None] = []
        for index in self.path():
            siblings = self.children(self.nodes[index].parent)
            out.append(Pager(index, siblings.index(index) + 1, len(siblings)) if len(siblings) > 1 else None)
        return out

    def locate(self, message_index: int) -> int | None:
        """The node on screen that shows the ``message_index``-th chat message."""
        seen = 0
        for index in self.path():
            seen += len(self.nodes[index].messages)
            if message_index < seen:
                return index
        return None

    def before(self, index: int) -> list[dict[str, Any]]:
        """The chat messages shown above node ``index`` (the history a turn at it is sent with)."""
        path = self.path()
        return self.history(path[: path.index(index)] if index in path else path)

    def last(self) -> int | None:
        path = self.path()
        return path[-1] if path else None

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    # --- changing --------------------------------------------------------------------------------

    def _add(self, node: Node) -> int:
        self.nodes.append(node)
        index = len(self.nodes) - 1
        self._select(index)
        return index

    def _select(self, index: int) -> None:
        """Make node ``index`` the shown child of its parent."""
        parent = self.nodes[index].parent
        position = self.children(parent).index(index)
        if parent == ROOT:
            self.selected = position
        else:
            self.nodes[parent].selected = position

    def ask(self, question: dict[str, Any]) -> tuple[int, int]:
        """A new question at the end of the conversation on screen, and its (empty) answer.

        Returns ``(question, answer)`` node indexes. A question always gets its answer node at
        once, so questions and answers alternate on every path, whatever happens to the turn.
        """
        last = self.last()
        parent = ROOT if last is None else last
        if last is not None and self.nodes[last].role == "user":  # an answer never started
            parent = self.nodes[last].parent
        asked = self._add(Node("user", parent, [question]))
        return asked, self._add(Node("assistant", asked, [], partial=True))

    def retry(self, question: int) -> int:
        """Another answer to ``question``, shown instead of the earlier ones (which are kept)."""
        if self.nodes[question].role != "user":
            raise ValueError("only a question can be asked again")
        return self._add(Node("assistant", question, [], partial=True))

    def edit(self, question: int, new: dict[str, Any]) -> tuple[int, int]:
        """An edited question next to ``question`` (a new branch), and its (empty) answer."""
        old = self.nodes[question]
        if old.role != "user":
            raise ValueError("only a question can be edited")
        asked = self._add(Node("user", old.parent, [new]))
        return asked, self._add(Node("assistant", asked, [], partial=True))

    def flip(self, index: int, step: int) -> bool:
        """Show the sibling ``step`` places from node ``index`` (-1: ←, +1: →). False at an end."""
        siblings = self.children(self.nodes[index].parent)
        position = siblings.index(index) + step
        if not 0 <= position < len(siblings):
            return False
        self._select(siblings[position])
        return True

    def answer(self, index: int, messages: list[dict[str, Any]], stats: str = "", *, done: bool) -> None:
        """Set the answer node's messages as the turn now stands."""
        node = self.nodes[index]
        node.messages, node.stats, node.partial = messages, stats, not done

    def remove(self, index: int) -> None:
        """Remove node ``index`` and everything below it (Undo); the sibling before it is shown."""
        doomed = {index}
        for i, node in enumerate(self.nodes):
            if node.parent in doomed:
                doomed.add(i)
        parent = self.nodes[index].parent
        position = self.children(parent).index(index)
        renumber: dict[int, int] = {ROOT: ROOT}
        kept: list[Node] = []
        for i, node in enumerate(self.nodes):
            if i not in doomed:
                renumber[i] = len(kept)
                node.parent = renumber[node.parent]
                kept.append(node)
        self.nodes = kept
        remaining = len(self.children(renumber[parent]))
        chosen = max(0, min(position, remaining) - 1) if remaining else 0
        if parent == ROOT:
            self.selected = chosen
        else:
            self.nodes[renumber[parent]].selected = chosen

    def set_feedback(self, index: int, feedback: Feedback | None) -> None:
        if self.nodes[index].role == "assistant":
            self.nodes[index].feedback = feedback

    # --- building --------------------------------------------------------------------------------

    @classmethod
    def linear(cls, history: list[dict[str, Any]]) -> Tree:
        """A tree with one branch from a flat chat history (today's single conversation, an
        import of OpenAI messages). Consecutive messages of one role form one node; a question
        without an answer gets an empty one, so the two alternate."""
        tree = cls()
        for message in history:
            role = message.get("role")
            last = tree.last()
            if role == "user":
                if last is not None and tree.nodes[last].role == "user":
                    tree._add(Node("assistant", last, []))
                tree._add(Node("user", ROOT if tree.last() is None else tree.last(), [message]))  # type: ignore[arg-type]
            elif role == "assistant":
                if last is not None and tree.nodes[last].role == "assistant":
                    tree.nodes[last].messages.append(message)
                else:  # an answer to the last question, or a greeting before any question
                    tree._add(Node("assistant", ROOT if last is None else last, [message]))
        return tree

    def copy(self) -> Tree:
        return Tree(
            [
                Node(n.role, n.parent, list(n.messages), n.selected, n.stats, n.feedback, n.partial)
                for n in self.nodes
            ],
            self.selected,
        )
