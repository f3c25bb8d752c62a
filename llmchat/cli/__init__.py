"""The ``llmchat`` command: ``llmchat [web] [flags]``, ``llmchat ask QUESTION``, ``llmchat presets``.

Each command lives in its own module and is imported only when it runs, so ``llmchat ask`` and
``llmchat presets`` never import gradio (the web app's) and start in a fraction of the time.
"""

from __future__ import annotations

import sys

COMMANDS = ("web", "ask", "presets")


def main(argv: list[str] | None = None) -> int:
    """The console script's entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    command = args[0] if args and args[0] in COMMANDS else None
    rest = args[1:] if command else args
    if command == "ask":
        from llmchat.cli.ask import main as ask

        return ask(rest)
    if command == "presets":
        from llmchat.cli.presets import main as presets

        return presets(rest)
    from llmchat.cli.app_config import config_or_exit
    from llmchat.cli.common import setup_logging

    setup_logging()
    config = config_or_exit(rest, prog="llmchat web" if command else "llmchat")  # before gradio loads
    from llmchat.cli.web import serve

    return serve(config)
