"""A bounded load test: many visitors streaming answers from the real app at once.

Run ``.venv/bin/python -m benchmarks.load_test --visitors 20 --duration 120``. It starts, all on
127.0.0.1 and all stopped again at the end (or on Ctrl-C / SIGTERM):

- the project's OpenAI-compatible test server (``llmchat.testing.openai_server.OpenAITestServer``)
  in this process, so every request body the app sends can be checked afterwards;
- the app as a child process (``gradio_app.py --config-dir TMP --preset load``) with a temporary
  preset pointing at that server;
- ``--visitors`` threads, each a visitor with its own ``gradio_client.Client`` session. A visitor
  has a conversation of a few turns (``--turns``), leaves (``Client.close()``) and comes back as a
  new session, until ``--duration`` is over. Every message carries a unique marker and a
  ``[[test ...]]`` directive telling the server exactly what to stream: ``tokens=N`` or a
  ``reply="..."`` mixing ASCII, the marker and Japanese text (cut into one-character chunks by the
  server), ``delay=0.01`` between tokens.

Checks:

- **errors**: every turn ends with a plain string answer (no exception, no titled note);
- **integrity**: each final answer equals, character for character, what the server was told to
  send (nothing lost, nothing duplicated); one that streams for a second or more arrived in at
  least 3 partial outputs;
- **isolation**: every chat request the server received (``chat_bodies``) is exactly the
  conversation of the session whose marker ends it - system prompt, that session's earlier
  questions and answers, the new question - and contains no other session's marker;
- **memory**: the app's RSS (``VmRSS`` of ``/proc/<pid>/status``) every ``--sample-every``
  seconds: first, last, max, and the least-squares slope (MB/min) over the whole run and over its
  second half (after warm-up). Flat means: no growth with answers. Two things grow by design and
  are accounted for: a conversation's history (in a long session, each turn is kept in several
  copies by Gradio), and Gradio's per-session state - every session gets a ``SessionState`` (a
  copy of the page's component config, ~60 KiB here) that stays in memory after the visitor
  leaves until ``state_session_capacity`` (10,000) newer sessions push it out. So the second-half
  growth must stay below ``--max-kib-per-session`` per session opened in that half plus
  ``--rss-noise-mb``; a per-answer leak of a few dozen KiB fails that.

The exit status is 0 when every check passed, 1 otherwise. The load is bounded: no visitor starts
a turn after ``--duration``, each turn has a ``--turn-timeout``, and a watchdog ends everything
``--duration`` + ``--grace`` seconds after the start whatever happens.

The parts, one module each: ``visitors`` (what each turn asks for, the visitor threads),
``checks`` (isolation: every request is its own session's conversation), ``report`` (the table
and the verdict), ``cli`` (the app, the server, the watchdog).
"""
