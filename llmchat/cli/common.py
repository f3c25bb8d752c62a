"""What every command shares: picking the preset, the console's log format, the one-line exit.

Nothing here imports gradio: ``llmchat ask`` and ``llmchat presets`` must start quickly and work
where only the core and the engine are installed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import NoReturn

from llmchat.core.presets import ENV_BASE_URL, PresetCatalog
from llmchat.settings import UsageError

__all__ = [
    "DEFAULT_PRESET",
    "ENV_PRESET",
    "USAGE_STATUS",
    "UsageError",
    "choose_preset",
    "exit_usage",
    "setup_logging",
]

DEFAULT_PRESET = "smollm2"
ENV_PRESET = "server"  # leaves base_url, api_key and model to the environment
USAGE_STATUS = 2  # argparse exits with 2 on a usage error; so do we


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


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The HTTP clients log every request line at INFO; keep the console about the chat.
    for noisy in ("httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def exit_usage(error: UsageError) -> NoReturn:
    """Print the problem as one line on stderr and exit with status 2 (argparse's, for usage)."""
    print(f"llmchat: error: {error}", file=sys.stderr)
    raise SystemExit(USAGE_STATUS)
