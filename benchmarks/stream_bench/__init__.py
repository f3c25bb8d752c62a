"""How fast do answers reach visitors? Direct ``openai`` client vs. the app's API vs. a real browser.

Run ``.venv/bin/python -m benchmarks.stream_bench`` (full, a few minutes) or ``--quick``. It starts
everything itself on 127.0.0.1 and stops it again:

- the project's fake LLM server (``llmchat.testing.openai_server``) in a child process, streaming as
  fast as it can (no delay between tokens), see ``benchmarks/llm_server.py``;
- the app as a child process (``gradio_app.py --config-dir TMP --preset bench``), so its CPU time
  can be read from ``/proc/<pid>/stat`` without counting the clients or the LLM server;
- Debian's Chromium through Playwright for the browser figures.

Every figure is a median over several runs (``--api-runs``, ``--runs``), each after a warm-up.
See benchmarks/README.md for what each figure means and why it is measured the way it is.

The parts, one module each: ``paired`` (A: direct client, app API and SSE timing, run by run),
``browser`` (A/B: Chromium), ``crowd`` (C: visitors at once), ``py_spy`` (D: where the app's CPU
goes), ``benchmarks.embedded_rate`` (E: the local model); ``report`` prints the tables and checks
the targets (``figures``), ``plot`` draws them, ``cli`` runs it all.
"""
