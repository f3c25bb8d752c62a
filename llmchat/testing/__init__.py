"""Test support shipped with llmchat: for its tests, its benchmarks, ``deploy/`` and its users.

- ``llmchat.testing.openai_server``: an OpenAI-compatible server on 127.0.0.1 that records every
  request and answers as scripted (``python -m llmchat.testing.openai_server --port 8089``);
- ``llmchat.testing.hostile``: that server's hostile mode (wrong shapes, endless replies).

Only starlette, uvicorn, httpx and the standard library are imported here, never gradio, and no
module of the app imports this package.
"""
