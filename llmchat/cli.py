"""Command line: which presets, where to listen, who may log in, how many answers at once."""

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

from llmchat.core.limits import DEFAULT_LIMITS, MB, VisitorLimits
from llmchat.core.presets import ENV_BASE_URL, PresetCatalog, load_catalog
from llmchat.engine.embedded import install_signal_handlers, stop_all
from llmchat.engine.fairness import DEFAULT_PER_ADDRESS, DEFAULT_PER_VISITOR
from llmchat.engine.servers import ServerResolver
from llmchat.web.app import build_demo

log = logging.getLogger("llmchat")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = ROOT / "configs"
DEFAULT_PRESET = "smollm2"
ENV_PRESET = "server"  # leaves base_url, api_key and model to the environment
# Answers stream while the app mostly waits on the LLM server, so each costs the app almost
# nothing; the server itself queues or batches. Gradio's default of 1 would make every visitor
# wait for the previous visitor's whole answer. 64 lets a classroom chat at once while bounding
# how many connections one app opens to the server.
DEFAULT_CONCURRENCY = 128
SESSION_CAPACITY = 2_000
# Gradio's queue looks for new work every 1 ms while it has none: 3.5 % of a core on an idle app
# (measured). 5 ms cuts that to under 1 % and adds at most 5 ms before an answer starts.
QUEUE_IDLE_POLL = 0.005


@dataclass(frozen=True)
class AppConfig:
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


class UsageError(Exception):
    """A problem with the command line or the presets: printed as one line, exit status 2."""


def _parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    if not value:
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise UsageError("--auth / LLMCHAT_AUTH: expected USER:PASS (several separated by commas)")
        pairs.append((user, password))
    return pairs


def _number(env: Mapping[str, str], variable: str, default: float, flag: str) -> float:
    value = env.get(variable)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{flag} / {variable}: '{value}' is not a number") from None


def parse_args(argv: list[str], environ: dict[str, str] | None = None) -> AppConfig:
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="gradio_app.py",
        description="llmchat: a web chat for LLMs served over the OpenAI API.",
        epilog="Environment: OPENAI_BASE_URL, OPENAI_API_KEY, LLMCHAT_MODEL fill in what a preset "
        "leaves out; LLMCHAT_PRESET, LLMCHAT_CONFIG_DIR, LLMCHAT_AUTH, LLMCHAT_CONCURRENCY, LLMCHAT_LANG, "
        "LLMCHAT_MAX_ANSWERS_PER_VISITOR, LLMCHAT_MAX_ANSWERS_PER_ADDRESS, GRADIO_SERVER_NAME and "
        "GRADIO_SERVER_PORT give defaults for the flags.",
    )
    parser.add_argument(
        "--preset",
        default=env.get("LLMCHAT_PRESET"),
        help="preset to start with: a file stem in the config directory",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(env.get("LLMCHAT_CONFIG_DIR") or DEFAULT_CONFIG_DIR),
        help="directory of *.yaml presets (default: configs/)",
    )
    parser.add_argument(
        "--host",
        default=env.get("GRADIO_SERVER_NAME") or "127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port", type=int, default=int(env.get("GRADIO_SERVER_PORT") or 7860), help="port (default 7860)"
    )
    parser.add_argument(
        "--share", action="store_true", help="also publish a public gradio.live link (use with --auth)"
    )
    parser.add_argument(
        "--auth",
        default=env.get("LLMCHAT_AUTH"),
        metavar="USER:PASS",
        help="require a login; several as U1:P1,U2:P2",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=int(env.get("LLMCHAT_CONCURRENCY") or DEFAULT_CONCURRENCY),
        metavar="N",
        help=f"answers streamed at once (default {DEFAULT_CONCURRENCY})",
    )
    limit_flags = (
        # flag, environment variable, VisitorLimits field, unit, help
        (
            "--max-message-chars",
            "LLMCHAT_MAX_MESSAGE_CHARS",
            "max_message_chars",
            1,
            "longest message, characters",
        ),
        ("--max-files", "LLMCHAT_MAX_FILES", "max_files", 1, "files per message"),
        (
            "--max-attachments-mb",
            "LLMCHAT_MAX_ATTACHMENTS_MB",
            "max_attachment_bytes",
            MB,
            "MB of attachments one request may send (each file counted every time it is sent)",
        ),
        (
            "--max-upload-mb",
            "LLMCHAT_MAX_UPLOAD_MB",
            "max_upload_bytes",
            MB,
            "MB per uploaded or imported file",
        ),
        (
            "--keep-uploads-hours",
            "LLMCHAT_KEEP_UPLOADS_HOURS",
            "keep_uploads_seconds",
            3600,
            "uploads unused this long are deleted",
        ),
    )
    for flag, variable, field, unit, text in limit_flags:
        default = getattr(DEFAULT_LIMITS, field) / unit
        default = int(default) if float(default).is_integer() else default
        parser.add_argument(
            flag,
            type=float if unit > 1 else int,
            default=_number(env, variable, default, flag),
            metavar="N",
            help=f"{text} (default {default:,}; env {variable})",
        )
    parser.add_argument(
        "--max-answers-per-visitor",
        type=int,
        default=int(env.get("LLMCHAT_MAX_ANSWERS_PER_VISITOR") or DEFAULT_PER_VISITOR),
        metavar="N",
        help=f"answers one visitor (browser tab, API session) may have streaming at once, and as many "
        f"more waiting; the rest are refused (default {DEFAULT_PER_VISITOR}; 0 = no limit)",
    )
    parser.add_argument(
        "--max-answers-per-address",
        type=int,
        default=int(env.get("LLMCHAT_MAX_ANSWERS_PER_ADDRESS") or DEFAULT_PER_ADDRESS),
        metavar="N",
        help=f"the same for all visitors from one client address, e.g. one network behind NAT "
        f"(default {DEFAULT_PER_ADDRESS}; 0 = no limit)",
    )
    parser.add_argument(
        "--lang",
        default=env.get("LLMCHAT_LANG") or None,
        metavar="en|ja",
        help="language of the page for every visitor (default: each browser's language)",
    )
    args = parser.parse_args(argv)
    if args.lang is not None and args.lang not in ("en", "ja"):
        raise UsageError(f"--lang / LLMCHAT_LANG: '{args.lang}' is invalid; expected en or ja")
    values: dict[str, float] = {}
    for flag, variable, field, unit, _ in limit_flags:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value <= 0:
            raise UsageError(f"{flag} / {variable}: {value} is invalid; expected a number above 0")
        values[field] = value * unit if field == "keep_uploads_seconds" else int(value * unit)
    try:
        limits = VisitorLimits(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise UsageError(f"limits: {exc}") from None
    for flag in ("max_answers_per_visitor", "max_answers_per_address"):
        if getattr(args, flag) < 0:
            name = "--" + flag.replace("_", "-")
            raise UsageError(f"{name}: {getattr(args, flag)} is invalid; expected 0 (no limit) or more")
    if args.concurrency < 1:
        raise UsageError(
            f"--concurrency: {args.concurrency} is invalid; expected a whole number of at least 1"
        )
    return AppConfig(
        preset=args.preset,
        config_dir=args.config_dir,
        host=args.host,
        port=args.port,
        share=args.share,
        auth=_parse_auth(args.auth),
        concurrency=args.concurrency,
        limits=limits,
        lang=args.lang,
        max_answers_per_visitor=args.max_answers_per_visitor,
        max_answers_per_address=args.max_answers_per_address,
    )


def choose_preset(
    catalog: PresetCatalog, wanted: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """The preset to start with, or UsageError naming exactly why there is none."""
    if wanted:
        if wanted in catalog.presets:
            return wanted
        if wanted in catalog.broken:
            raise UsageError(catalog.broken[wanted])
        available = ", ".join(catalog.presets) or "none"
        raise UsageError(f"--preset {wanted}: no such preset (available: {available})")
    if not catalog.presets:
        raise UsageError("no usable preset: " + " | ".join(catalog.problems))
    # Configured only through the environment (a Hugging Face Space's secrets): use that server.
    env = os.environ if environ is None else environ
    if env.get(ENV_BASE_URL) and ENV_PRESET in catalog.presets:
        return ENV_PRESET
    return DEFAULT_PRESET if DEFAULT_PRESET in catalog.presets else next(iter(catalog.presets))


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


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP clients log every request line at INFO; keep the console about the chat.
    for noisy in ("httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_or_exit(argv: list[str]) -> tuple[gr.Blocks, AppConfig]:
    """Parse, load and build; on a usage problem print one line and exit with status 2."""
    try:
        config = parse_args(argv)
        return build_from_config(config), config
    except UsageError as exc:
        print(f"llmchat: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


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
