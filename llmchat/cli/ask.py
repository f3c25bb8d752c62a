"""``llmchat ask "question"``: one answer, streamed to the terminal, from the same chat service
the web page uses (:class:`llmchat.engine.service.ChatService`).

So a question asked here is checked, fitted to the context window, sent and explained exactly as
on the page; only the drawing differs (:mod:`llmchat.cli.terminal`). The sampling flags are the
page's controls (:data:`llmchat.core.controls.VISITOR_CONTROLS`), one flag per control, derived
here rather than listed: a new control gets its flag too. A flag left out takes the preset's value.

A preset with an ``embedded:`` model starts it (as the page does) and stops it on the way out,
however the command ends (an answer, an error, Ctrl-C, SIGTERM). gradio is never imported.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from llmchat.cli.common import UsageError, choose_preset, exit_usage, setup_logging
from llmchat.cli.terminal import TerminalView
from llmchat.core import controls
from llmchat.core.controls import Control
from llmchat.core.presets import load_catalog
from llmchat.engine.embedded import install_signal_handlers, stop_all
from llmchat.engine.service import ChatService, TurnRequest
from llmchat.i18n import label_text, terminal_lang
from llmchat.settings import AskSettings, add_args_from_model, environment_help, flag, load

INTERRUPTED = 130  # a shell's status for a command ended by Ctrl-C (128 + SIGINT)


def add_control_args(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """One flag per control a visitor sets on the page (``--temperature``, ``--max-tokens``...).

    Values are taken as typed and checked later, with the preset's own limits, by the same rules
    as the page's (:func:`llmchat.core.controls.check`).
    """
    for control in controls.VISITOR_CONTROLS:
        label = label_text(control.label, "en")
        if control.kind == "flag":
            parser.add_argument(
                flag(control.name),
                dest=control.name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"{label} (default: the preset's)",
            )
            continue
        text = f"{label}: {controls.expected(control)} (default: the preset's)"
        metavar = "|".join(control.choices) or ("TEXT" if control.kind == "text" else "N")
        if control.kind == "seed":
            text += "; '' sends none"
        parser.add_argument(
            flag(control.name), dest=control.name, default=argparse.SUPPRESS, metavar=metavar, help=text
        )


def ask_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmchat ask",
        description="Ask one question and stream the answer to stdout; notices, the model's "
        "thinking and the stats go to stderr. Exit status: 0 answered, 1 the turn failed (no "
        "answer and an error notice, or an answer cut off), 2 a bad flag or preset, 130 Ctrl-C.",
        epilog=f"Environment: {environment_help(AskSettings)} give defaults for the flags; "
        "OPENAI_BASE_URL, OPENAI_API_KEY, LLMCHAT_MODEL fill in what a preset leaves out.",
    )
    parser.add_argument(
        "question", nargs="?", default="-", help="the question; '-' or none reads it from standard input"
    )
    add_args_from_model(parser, AskSettings)
    add_control_args(parser.add_argument_group("sampling and mode (one flag per control of the page)"))
    return parser


def _typed(control: Control, value: Any) -> Any:
    """A flag's text as the control's type; text that is not a number is left for the check
    to name in its message."""
    if isinstance(value, str) and control.kind in ("number", "integer"):
        try:
            return int(value) if control.kind == "integer" else float(value)
        except ValueError:
            return value
    return value


def given_controls(namespace: argparse.Namespace) -> dict[str, Any]:
    """The control flags given on the command line, by control name."""
    values = vars(namespace)
    return {c.name: _typed(c, values[c.name]) for c in controls.VISITOR_CONTROLS if c.name in values}


def control_problem(error: controls.ControlError) -> str:
    """A ControlError in the flags' names: ``--temperature: 3.0 is invalid (...); expected ...``."""
    parts = []
    for name, value, reason, accepts in error.problems:
        shown = repr(value) if isinstance(value, str) else value
        expected = f"; expected {accepts}" if accepts else ""
        parts.append(f"{flag(name)}: {shown} is invalid ({reason}){expected}")
    return " | ".join(parts)


def read_question(question: str, stdin: TextIO, limit: int) -> str:
    """The question, or standard input for '-' (bounded: one character over the limit is enough
    for the service to say it is too long)."""
    if question != "-":
        return question
    if stdin.isatty():
        print("llmchat: type the question, then Ctrl-D (Ctrl-Z Enter on Windows)", file=sys.stderr)
    try:
        return stdin.read(limit + 1)
    except UnicodeDecodeError:
        raise UsageError("standard input is not text in the terminal's encoding") from None


async def ask(service: ChatService, request: TurnRequest, view: TerminalView) -> int:
    async for update in service.turn(request):
        view.show(update)
    return view.finish()


def run(
    argv: list[str],
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``llmchat ask`` with ``argv``; returns the exit status (UsageError for status 2)."""
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    namespace = ask_parser().parse_args(argv)
    settings: AskSettings = load(AskSettings, vars(namespace), environ)
    setup_logging(logging.INFO if settings.verbose else logging.ERROR)
    catalog = load_catalog(settings.config_dir, dict(environ) if environ is not None else None)
    preset_id = choose_preset(catalog, settings.preset, environ)
    service = ChatService(catalog)
    given = given_controls(namespace)
    try:
        service.check_controls(catalog.presets[preset_id], given)
    except controls.ControlError as exc:
        raise UsageError(control_problem(exc)) from None
    question = read_question(namespace.question, stdin, service.limits.max_message_chars)
    request = TurnRequest(message=question, preset=preset_id, controls=given, model=settings.model or "")
    view = TerminalView(out, err, settings.lang or terminal_lang(environ))
    return asyncio.run(ask(service, request, view))


def main(argv: list[str]) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A console that cannot show a character (a Windows code page, LANG=C) gets a '?' instead
        # of a UnicodeEncodeError halfway through the answer.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    install_signal_handlers()  # SIGTERM: stop a local model we started, then exit 143
    try:
        return run(argv)
    except UsageError as exc:
        exit_usage(exc)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return INTERRUPTED
    finally:
        stop_all()
