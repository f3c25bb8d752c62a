"""Context budget, per-answer stats and reasoning, through the launched app and the test server."""

from __future__ import annotations

import itertools
import random
import re
import time

import pytest
from gradio_client import Client

from llmchat.core.budget import PER_MESSAGE_OVERHEAD, SAFETY_MARGIN, message_reserve, plan, plan_history
from llmchat.testing.openai_server import Behavior, OpenAITestServer
from llmchat.testing.scripting import split_tokens
from tests.replies import answer_of
from tests.replies import notes_of as titled

# --- context budget ------------------------------------------------------------------------


def test_plan_keeps_everything_that_fits() -> None:
    assert plan_history([10, 10, 10, 10], ["user", "assistant"] * 2, 10, 10, 50, 1000) == 0


def test_a_cut_lands_at_a_question_and_frees_half_the_room() -> None:
    roles = ["user", "assistant"] * 10
    first = plan_history([30] * 20, roles, system_tokens=10, message_tokens=10, max_tokens=100, window=400)
    room = 400 - 100 - 10 - message_reserve(400) - SAFETY_MARGIN  # the message counts as the reserve
    assert roles[first] == "user"
    assert (20 - first) * 30 <= room / 2  # what is kept uses at most half the room...
    assert (20 - first + 2) * 30 > room / 2  # ...and the cut drops no more than it must for that


def test_plan_cut_point_only_moves_forward_and_seldom() -> None:
    cuts = []
    for turns in range(10, 40):
        tokens, roles = [30] * (2 * turns), ["user", "assistant"] * turns
        cuts.append(plan_history(tokens, roles, 10, 10, max_tokens=100, window=800))
    assert cuts == sorted(cuts)  # only ever moves forward ...
    assert len(set(cuts)) <= 30 // 3 + 1  # ... and then stays put for several turns


def stability(window: int, max_tokens: int, seed: int, turns: int = 80) -> tuple[float, int]:
    """A conversation of paragraph-long questions and answers near Max tokens: the share of
    consecutive trimmed turns whose first kept message is the same (the server's prompt cache
    survives), and how often the start moved in two turns in a row."""
    rnd = random.Random(seed)
    history: list[int] = []
    roles: list[str] = []
    firsts: list[int] = []
    for _ in range(turns):
        question = rnd.randint(40, 120)
        counts, all_roles = [20, *history, question], ["system", *roles, "user"]
        firsts.append(plan(counts, [0] * len(counts), all_roles, max_tokens, window, True).first_kept)
        history += [question, rnd.randint(max_tokens * 6 // 10, max_tokens)]
        roles += ["user", "assistant"]
    moved = [a != b for a, b in itertools.pairwise(firsts) if a and b]
    twice = sum(1 for a, b in itertools.pairwise(moved) if a and b)
    return 1 - sum(moved) / len(moved), twice


@pytest.mark.parametrize(
    ("window", "max_tokens", "at_least"), [(700, 100, 0.5), (2048, 256, 0.65), (8192, 1024, 0.75)]
)
def test_the_prompts_start_stays_put_in_at_least_half_the_trimmed_turns(
    window: int, max_tokens: int, at_least: float
) -> None:
    runs = [stability(window, max_tokens, seed) for seed in range(20)]
    assert min(share for share, _ in runs) >= at_least, runs
    assert sum(twice for _, twice in runs) == 0  # never moves in two turns in a row


@pytest.mark.parametrize("tokenizer", ["llama-cpp-python", "llama.cpp", None])
def test_sixty_turns_stay_within_the_window_and_keep_a_stable_prefix(
    server: OpenAITestServer, tokenizer: str | None, request: pytest.FixtureRequest
) -> None:
    server.tokenizer = tokenizer
    window, max_tokens = 2048, 64
    server.n_ctx = window  # told by /props, like llama.cpp's server
    client = Client(request.getfixturevalue("fresh_app_url"), verbose=False)
    replies = []
    for turn in range(60):
        message = f"turn {turn}: " + " ".join(f"word{turn}x{i}" for i in range(25))
        replies.append(client.predict(message, preset="test-chat", max_tokens=max_tokens, api_name="/chat"))
    bodies = [body for body in server.chat_bodies if body.get("stream")]
    warm_ups = [body for body in server.chat_bodies if not body.get("stream")]
    assert len(bodies) == 60

    def tokens(text: str) -> int:  # the same count llmchat used: the server's, else its estimate
        return len(split_tokens(text)) if tokenizer else -(-len(text.encode()) // 3)

    for body in bodies:
        messages = body["messages"]
        used = sum(tokens(m["content"]) + PER_MESSAGE_OVERHEAD for m in messages)
        assert used + max_tokens <= window
        assert messages[0]["role"] == "system" and messages[-1]["content"].startswith("turn ")
        assert messages[1]["role"] == "user"
    # Consecutive requests share their prefix except when the cut moves on: once per quarter
    # window of growth at most, not on every turn.
    conversation = [
        text
        for body, reply in zip(bodies, replies, strict=True)
        for text in (body["messages"][-1]["content"], answer_of(reply))
    ]
    growth = sum(tokens(text) + PER_MESSAGE_OVERHEAD for text in conversation)
    moves = sum(
        1 for a, b in itertools.pairwise(bodies) if b["messages"][: len(a["messages"])] != a["messages"]
    )
    assert 1 <= moves <= growth // (window // 4) + 1
    # Before each turn that moved the cut, the server was sent exactly that turn's prompt minus the
    # new message, right after the previous answer (llama.cpp servers only: it feeds their cache).
    moved = [b for a, b in itertools.pairwise(bodies) if b["messages"][: len(a["messages"])] != a["messages"]]
    if tokenizer:
        # (after the last answer, too: a turn 61 would have cut again)
        assert len(warm_ups) - len(moved) in (0, 1)
        assert [w["messages"] for w in warm_ups[: len(moved)]] == [b["messages"][:-1] for b in moved]
        assert all(w["max_tokens"] == 1 and w["model"] == "test-model" for w in warm_ups)
    else:
        assert warm_ups == []
    trimmed = [titled(r) for r in replies if titled(r)]
    assert trimmed and all(re.match(r"ℹ️ \d+ earlier messages were not sent", t) for r in trimmed for t in r)
    assert answer_of(replies[-1]).startswith("Echo: turn 59:")


def _chat_until_a_warm_up(client: Client, server: OpenAITestServer, preset: str, turns: int = 25) -> int:
    """Chat on ``preset`` (512-token window) until the server gets a warm-up; the turns it took."""
    for turn in range(1, turns + 1):
        client.predict(
            f"turn {turn}: " + " ".join(f"w{turn}x{i}" for i in range(30)), preset=preset, api_name="/chat"
        )
        time.sleep(0.05)  # the warm-up is sent in the background, right after the answer
        if any(not body.get("stream") for body in server.chat_bodies):
            return turn
    return 0


def test_no_warm_up_for_a_preset_that_turns_it_off_or_in_qa_mode(
    server: OpenAITestServer, request: pytest.FixtureRequest
) -> None:
    server.tokenizer = "llama-cpp-python"
    url = request.getfixturevalue("fresh_app_url")
    assert _chat_until_a_warm_up(Client(url, verbose=False), server, "small-window") > 0  # the control
    server.clear()
    client = Client(url, verbose=False)
    assert _chat_until_a_warm_up(client, server, "small-window-no-warm") == 0
    assert any(
        titled(r) for r in [client.predict("one more", preset="small-window-no-warm", api_name="/chat")]
    )
    server.clear()
    qa = Client(url, verbose=False)
    for turn in range(20):
        qa.predict(f"question {turn} " + "word " * 40, preset="small-window", mode="qa", api_name="/chat")
    assert all(body.get("stream") for body in server.chat_bodies)


def test_no_warm_up_while_the_server_answers_another_visitor(
    server: OpenAITestServer, request: pytest.FixtureRequest
) -> None:
    """A one-slot server would drop the warmed prompt for the other visitor's next turn anyway."""
    server.tokenizer = "llama-cpp-python"
    url = request.getfixturevalue("fresh_app_url")
    needed = _chat_until_a_warm_up(Client(url, verbose=False), server, "small-window")
    assert needed > 0
    server.clear()
    other = Client(url, verbose=False).submit(
        "[[test tokens=200 delay=0.05]] a long answer", api_name="/chat"
    )
    deadline = time.monotonic() + 10
    while not server.streams and time.monotonic() < deadline:
        time.sleep(0.02)
    client = Client(url, verbose=False)
    for turn in range(1, needed + 2):
        client.predict(
            f"turn {turn}: " + " ".join(f"w{turn}x{i}" for i in range(30)),
            preset="small-window",
            api_name="/chat",
        )
    assert not other.done(), "the other visitor's answer ended too early for this test"
    assert all(body.get("stream") for body in server.chat_bodies)
    other.result(timeout=30)


def test_a_message_larger_than_the_window_is_refused_clearly(
    client: Client, server: OpenAITestServer
) -> None:
    reply = client.predict("long " * 3000, preset="small-window", api_name="/chat")
    [(title, text)] = titled(reply).items()
    assert "too long for the model" in title
    assert "context window is 512" in text and "Shorten" in text
    assert server.chat_bodies == []


# --- stats -----------------------------------------------------------------------------------


def test_stats_match_what_the_server_did(client: Client, server: OpenAITestServer) -> None:
    server.enqueue(Behavior(tokens=20, delay=0.05, first_token_delay=0.4))
    reply = client.predict("hi", preset="stats", show_stats=True, api_name="/chat")
    [stats] = [t for t in titled(reply) if t.startswith("⏱")]
    match = re.match(
        r"⏱ ([\d.]+) s to first token · ([\d.]+) tokens/s · (\d+) prompt \+ (\d+) completion", stats
    )
    assert match, stats
    ttft, rate, prompt, completion = float(match[1]), float(match[2]), int(match[3]), int(match[4])
    assert ttft == pytest.approx(0.4, abs=0.15)
    assert rate == pytest.approx(20, rel=0.3)
    assert completion == 20  # from the server's usage chunk, not estimated
    sent = server.chat_bodies[0]
    assert sent["stream_options"] == {"include_usage": True}
    assert prompt == sum(len(m["content"].split()) for m in sent["messages"])  # the server's count
    assert "~" not in stats


def test_stats_are_estimated_and_marked_when_the_server_sends_no_usage(
    client: Client, server: OpenAITestServer
) -> None:
    """Like llama-cpp-python, which ignores stream_options: count chunks, mark them with "~"."""
    server.enqueue(Behavior(tokens=10, delay=0.02))
    reply = client.predict("hi", preset="test-chat", show_stats=True, api_name="/chat")
    [stats] = [t for t in titled(reply) if t.startswith("⏱")]
    assert "~10 completion tokens" in stats and "~" in stats.split("·")[1]


def test_stats_can_be_hidden(client: Client, server: OpenAITestServer) -> None:
    assert client.predict("hi", preset="stats", show_stats=False, api_name="/chat") == "Echo: hi"


# --- reasoning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "behavior",
    [
        Behavior(reasoning="First I consider the question. Then I answer.", reply="Final answer."),
        Behavior(reply="<think>First I consider the question. Then I answer.</think>\n\nFinal answer."),
    ],
    ids=["reasoning_content", "think_tags"],
)
def test_reasoning_goes_to_a_thinking_block_and_is_never_sent_back(
    client: Client, server: OpenAITestServer, behavior: Behavior
) -> None:
    server.enqueue(behavior)
    reply = client.predict("why?", api_name="/chat")
    parts = titled(reply)
    assert parts["💭 Thinking"].strip() == "First I consider the question. Then I answer."
    assert answer_of(reply) == "Final answer."
    client.predict("and then?", api_name="/chat")
    sent = server.chat_bodies[-1]["messages"]
    assert sent[2] == {"role": "assistant", "content": "Final answer."}
    assert all("consider" not in m["content"] for m in sent)


def test_images_count_as_a_fixed_cost_not_as_their_base64_text() -> None:
    from llmchat.core.budget import IMAGE_TOKENS, countable

    content = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 100_000}},
    ]
    text, images = countable(content)
    assert text == "What is in this picture?" and images == 1
    assert IMAGE_TOKENS < 2000
