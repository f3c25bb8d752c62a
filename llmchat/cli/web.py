"""``llmchat web`` (also ``llmchat`` alone and ``python gradio_app.py``): start the web app.

The flags and environment variables are :class:`llmchat.settings.WebSettings`; this module turns
them into the page (:func:`build_from_config`) and serves it until Ctrl-C or SIGTERM
(:func:`launch`), stopping any local model it started on the way out.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from llmchat.cli.common import UsageError, choose_preset, exit_usage, setup_logging
from llmchat.core.limits import DEFAULT_LIMITS, VisitorLimits
from llmchat.core.presets import load_catalog
from llmchat.engine.embedded import install_signal_handlers, stop_all
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR
from llmchat.engine.servers import ServerResolver
from llmchat.settings import WebSettings, add_args_from_model, environment_help, load
from llmchat.web.app import build_demo

__all__ = [
    "AppConfig",
    "UsageError",
    "build_from_config",
    "build_or_exit",
    "choose_preset",
    "launch",
    "main",
    "parse_args",
    "setup_logging",
    "share_warning",
]

log = logging.getLogger("llmchat")

SESSION_CAPACITY = 2_000
# Gradio's queue looks for new work every 1 ms while it has none: 3.5 % of a core on an idle app
# (measured). 5 ms cuts that to under 1 % and adds at most 5 ms before an answer starts.
QUEUE_IDLE_POLL = 0.005
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


def build_from_config(config: AppConfig) -> gr.Blocks:
    catalog = load_catalog(config.config_dir)
    for problem in catalog.problems:
        log.warning("%s", problem)
    preset = choose_preset(catalog, config.preset)
    resolver = ServerResolver()
    # A local model takes a moment to load: start it now, while Gradio starts, not at the first message.
    resolver.start_in_background(catalog.presets[preset])
    return build_demo(
        catalog,
        preset,
        concurrency=config.concurrency,
        resolver=resolver,
        limits=config.limits,
        lang=config.lang or catalog.presets[preset].settings.lang,
        max_answers_per_visitor=config.max_answers_per_visitor,
        max_answers_per_address=config.max_answers_per_address,
    )


def build_or_exit(argv: list[str], prog: str = "gradio_app.py") -> tuple[gr.Blocks, AppConfig]:
    """Parse, load and build; on a usage problem print one line and exit with status 2."""
    try:
        config = parse_args(argv, prog=prog)
        return build_from_config(config), config
    except UsageError as exc:
        exit_usage(exc)


def share_warning(config: AppConfig) -> str | None:
    if config.share and not config.auth:
        return (
            "--share without --auth: anyone with the link can use your LLM server and see nothing "
            "of other visitors, but spend your tokens. Add --auth USER:PASS (or set LLMCHAT_AUTH)."
        )
    return None


def launch(demo: gr.Blocks, config: AppConfig) -> None:
    # SIGTERM (systemd, Docker, Spaces) must stop local model processes before we go.
    install_signal_handlers()
    warning = share_warning(config)
    if warning:
        log.warning("%s", warning)
    interrupted = False
    try:
        demo.launch(
            server_name=config.host,
            server_port=config.port,
            share=config.share,
            auth=config.auth,
            prevent_thread_lock=True,
            # Gradio keeps every session's state, closed tabs included, up to this many sessions
            # (default 10,000: about 1 GB at ~100 KiB each). Bound it; the oldest go first.
            state_session_capacity=SESSION_CAPACITY,
            # Gradio's queue runs at most max_threads events at once (default 40), whatever the
            # concurrency limit says: measured, --concurrency 64 gave 40 answers at once.
            max_threads=max(40, config.concurrency),
        )
        queue = getattr(demo, "_queue", None)
        if queue is not None and hasattr(queue, "sleep_when_free"):
            queue.sleep_when_free = QUEUE_IDLE_POLL
        # Our own wait instead of Gradio's: Ctrl-C or SIGTERM at any moment, even while launch()
        # is still finishing, ends in the same orderly close below.
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        interrupted = True
        log.info("interrupted; closing")
    finally:
        demo.close()
        stop_all()
    if interrupted:
        # Everything of ours is closed. Under load, a Ctrl-C'd app was seen hanging at interpreter
        # shutdown for over 60 s (a library's worker thread being joined): end now, as Ctrl-C should.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def main(argv: list[str], prog: str = "llmchat web") -> int:
    """``llmchat web``: build the page and serve it until stopped."""
    setup_logging()
    demo, config = build_or_exit(argv, prog)
    launch(demo, config)
    return 0
