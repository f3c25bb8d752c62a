"""What is recorded about one turn of one way."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Turn:
    """One turn: its times, its tokens, what the server evaluated, the load meanwhile."""

    turn: int
    seconds: float | None = None  # submit -> final answer at the client
    ttft: float | None = None  # submit -> first answer text at the client
    app_ttft: float | None = None  # llmchat: the app's own stats (its request -> first token)
    completion_tokens: int | None = None  # the server's log (eval runs + 1), else counted
    finish_reason: str | None = None  # seed only (llmchat says "Reached the Max tokens limit")
    prompt_tokens: int | None = None  # what the server saw (cached + evaluated)
    prompt_evaluated: int | None = None  # the part not found in the server's prompt cache
    decode_ms_per_token: float | None = None  # the server's "eval time" / runs
    app_prompt_count: int | None = None  # llmchat: what its context budget counted
    messages_sent: int | None = None  # llmchat: from the app's log; seed: what it sent
    left_out: int = 0  # llmchat: "N earlier messages were not sent"
    notes: list[str] = field(default_factory=list)  # titles of llmchat's notes, stats excepted
    failed: bool = False
    error: str | None = None
    load1: float | None = None  # 1-minute load average when the turn started
    others_cores: float | None = None  # CPU cores other processes used during the turn
    server_cpu_s: float | None = None  # this way's llama_cpp.server
    app_cpu_s: float | None = None  # llmchat: the app process
    client_cpu_s: float | None = None  # this script (gradio_client or openai)
    warmups: int = 0  # llmchat: cache warm-ups the server ran for this turn (after the previous answer)
    warmup_evaluated: int | None = None  # ... the prompt tokens they evaluated
    warmup_seconds: float | None = None  # ... and how long they took on the server
    summaries: int = 0  # overflow: summarize: summary requests made for this turn (before its answer)
    summary_evaluated: int | None = None  # ... the prompt tokens they evaluated
    summary_tokens: int | None = None  # ... the tokens they generated
    summary_seconds: float | None = None  # ... and how long they took on the server
    answer: str = ""
