"""``llmchat web`` (also ``llmchat`` alone and ``python gradio_app.py``): start the web app.

The flags and environment variables are :class:`llmchat.settings.WebSettings`; this module turns
them into the page (:func:`build_from_config`) and serves it until Ctrl-C or SIGTERM
(:func:`launch`), stopping any local model it started on the way out.
"""

from __future__ import annotations

import logging
import os
import sys
import time

import gradio as gr

from llmchat.cli.app_config import AppConfig, config_or_exit, parse_args, share_warning
from llmchat.cli.common import UsageError, choose_preset, exit_usage, setup_logging
from llmchat.core.presets import load_catalog
from llmchat.engine.embedded import install_signal_handlers, stop_all
from llmchat.engine.servers import ServerResolver
from llmchat.web.app import build_demo

__all__ = [
    "AppConfig",
    "UsageError",
    "build_from_config",
    "build_or_exit",
    "choose_preset",
    "config_or_exit",
    "launch",
    "parse_args",
    "serve",
    "setup_logging",
    "share_warning",
]

log = logging.getLogger("llmchat")

SESSION_CAPACITY = 2_000
# Gradio's queue looks for new work every 1 ms while it has none: 3.5 % of a core on an idle app
# (measured). 5 ms cuts that to under 1 % and adds at most 5 ms before an answer starts.
QUEUE_IDLE_POLL = 0.005


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


def build_or_exit(config: AppConfig) -> gr.Blocks:
    """Load the presets and build the page; on a usage problem print one line and exit with 2."""
    try:
        return build_from_config(config)
    except UsageError as exc:
        exit_usage(exc)


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


def serve(config: AppConfig) -> int:
    """``llmchat web``: build the page and serve it until stopped."""
    launch(build_or_exit(config), config)
    return 0
