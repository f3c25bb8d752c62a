"""The web app's flags and environment (:class:`~llmchat.settings.WebSettings`) as an
:class:`AppConfig`, checked before gradio is imported.

Before, because gradio reads some of the same variables when it is imported (``int()`` of
``GRADIO_SERVER_PORT``): a bad value must get llmchat's one-line message, not gradio's traceback.
So this module imports no gradio, and :mod:`llmchat.cli.web` is imported only after it has run.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmchat.cli.common import UsageError, exit_usage
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR
from llmchat.settings import WebSettings, add_args_from_model, environment_help, load

COMMANDS = (
    "Commands: 'llmchat' or 'llmchat web [flags]' starts the web app (the flags below); "
    "'llmchat ask QUESTION' asks one question and prints the answer; "
    "'llmchat presets' lists and checks the presets. Each has --help."
)


@dataclass(frozen=True)
class AppConfig:
    """What the web app is started with: :class:`~llmchat.settings.WebSettings`, resolved."""

    preset: str | None
    config_dir: Path
    host: str
    port: int
    share: bool
    auth: list[tuple[str, str]] | None
    concurrency: int
    limits: VisitorLimits = DEFAULT_LIMITS
    lang: str | None = None
    max_answers_per_visitor: int = DEFAULT_PER_VISITOR
    max_answers_per_address: int = DEFAULT_PER_ADDRESS


def web_parser(prog: str = "gradio_app.py") -> argparse.ArgumentParser:
    """The web app's flags, one per field of :class:`~llmchat.settings.WebSettings`."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="llmchat: a web chat for LLMs served over the OpenAI API."
        + (f" {COMMANDS}" if prog.startswith("llmchat") else ""),
        epilog="Environment: OPENAI_BASE_URL, OPENAI_API_KEY, LLMCHAT_MODEL fill in what a preset "
        f"leaves out; {environment_help(WebSettings)} give defaults for the flags.",
    )
    add_args_from_model(parser, WebSettings)
    return parser


def parse_args(
    argv: list[str], environ: Mapping[str, str] | None = None, prog: str = "gradio_app.py"
) -> AppConfig:
    """The command line and the environment (default: ``os.environ``) as an AppConfig, or
    UsageError with one line."""
    settings: WebSettings = load(WebSettings, vars(web_parser(prog).parse_args(argv)), environ)
    return AppConfig(
        preset=settings.preset,
        config_dir=settings.config_dir,
        host=settings.host,
        port=settings.port,
        share=settings.share,
        auth=settings.auth_pairs(),
        concurrency=settings.concurrency,
        limits=settings.visitor_limits(),
        lang=settings.lang,
        max_answers_per_visitor=settings.max_answers_per_visitor,
        max_answers_per_address=settings.max_answers_per_address,
    )


def config_or_exit(argv: list[str], prog: str = "gradio_app.py") -> AppConfig:
    """:func:`parse_args`, or its one line on stderr and exit status 2."""
    try:
        return parse_args(argv, prog=prog)
    except UsageError as exc:
        exit_usage(exc)


def share_warning(config: AppConfig) -> str | None:
    if config.share and not config.auth:
        return (
            "--share without --auth: anyone with the link can use your LLM server and see nothing "
            "of other visitors, but spend your tokens. Add --auth USER:PASS (or set LLMCHAT_AUTH)."
        )
    return None
