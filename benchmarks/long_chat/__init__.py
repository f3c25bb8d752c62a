"""Do long conversations stay fast and inside the context window? llmchat vs. the seed's Simple Chat.

Run ``.venv/bin/python -m benchmarks.long_chat`` (30 turns: about 11 minutes on 2 idle cores, far
longer when other processes compete for them) or ``--quick`` (14 turns; like any partial run, no
plot unless ``--png`` is given). ``--replot run.json`` prints the tables and draws the plot again
from an earlier run's ``--json`` file.

The same user messages go, one conversation each way, to SmolLM2-135M served by
``llama_cpp.server`` with ``n_ctx=2048`` (``llmchat.engine.embedded.EmbeddedServer``; each way gets its
own fresh server, so prompt caches never mix):

1. **llmchat**: the real app as a child process (``gradio_app.py --config-dir TMP --preset
   long-chat``). Its preset points at that server with ``context_window: 2048``, so the app's
   context budget leaves out the oldest turns in quarter-window chunks. Each turn is sent with
   ``gradio_client`` in one session (one ``Client``) and timed from submit to the final answer.
2. **seed**: what the seed tutorial's Simple Chat does: the whole history, every turn, through the
   plain ``openai`` client (``stream=True``, the same sampling values) and nothing else. Once the
   prompt alone exceeds ``n_ctx``, llama-cpp-python answers 200 with an empty stream; such a turn
   counts as failed (empty answer or exception) and the conversation goes on as the seed's would:
   its history only grows, so every later turn fails too.

After each llmchat answer the benchmark waits ``--pause`` seconds (15 by default) before the next
question, as a person reads the answer and types: that is when llmchat's cache warm-up runs
(``llmchat/engine/warmup.py``: when the next turn will leave out older turns, the server evaluates the
shortened conversation right after the answer). Nothing else runs meanwhile; the seed's turns do not
depend on it (it does nothing between turns). ``--pause 0`` sends the next question at once.

The two conversations run interleaved, turn by turn (odd turns llmchat first, even turns the seed
first), so that both meet the same load from other processes on the machine; ``--order
sequential`` runs one whole conversation after the other. Before turn 1 each way sends one short
request on another conversation (loading the model's pages, opening the app's connections), so
turn 1 is a steady-state turn, not a cold start.

Per turn: seconds from submit to final answer, time to first token (TTFT: submit -> first answer
text at the client), completion tokens, decode milliseconds per token, and the prompt tokens the
server saw and had to evaluate (not found in its prompt cache). Those last figures come from the
server's own log (llama-cpp-python is verbose by default: "N prefix-match hit, remaining M prompt
tokens to eval", "eval time = X ms / R runs"). Also how many CPU cores other processes used during
the turn: on 2 cores, llama.cpp's threads slow down many times over when anything else runs.

Which figure to compare: most answers hit max_tokens (a few stop early, so seconds per completion
token is printed too), and on a shared machine a turn's time depends mostly on what else runs. The
summary therefore also gives medians over *calm* turns only (other processes below 0.3 cores),
split into turns where llmchat left out older turns and turns where it did not: a turn without a
cut costs the new message's prompt tokens plus max_tokens decode steps; a cut turn re-evaluates the
whole prompt that is kept. The raw turn-30 / turn-1 ratio and the medians of turns 1-3 vs 28-30
are printed as well.

The parts, one module each: ``conversation`` (the 30 messages and the fixed values), ``turn``
(what is recorded per turn), ``server_log`` (what llama.cpp's log says about a turn), ``ways``
(llmchat's way and the seed's), ``run`` (sending the turns, CPU accounting), ``summary`` and
``tables`` (the figures and the Markdown tables), ``plot``, ``cli``.
"""
