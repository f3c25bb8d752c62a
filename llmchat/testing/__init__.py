"""Test support shipped with llmchat: for its tests, its benchmarks, ``deploy/`` and its users.

- ``openai_server``: an OpenAI-compatible server on 127.0.0.1 that records every request and
  answers as scripted (``python -m llmchat.testing.openai_server --port 8089``); what it is
  told to do is ``scripting`` (``Behavior``, ``[[test ...]]`` directives), how an answer goes
  over the wire ``answers`` and ``wire``, its hostile mode ``hostile``;
- ``app_process``: the app as a child process (``gradio_app.py``), started, waited for and
  stopped; ``procfs`` reads its CPU time and memory.

A free port comes from ``llmchat.ports.free_port``, the app's own. Only starlette, uvicorn, httpx
and the standard library are imported here, never gradio; no module of the app imports this
package. Nothing is re-exported from this file, so that ``python -m llmchat.testing.openai_server``
runs the module once.
"""
