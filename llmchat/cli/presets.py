"""``llmchat presets``: list the presets of a config directory and check every file.

Each usable preset is one line on stdout (id, name, server, model; ``*`` marks the one
``llmchat`` starts with). Each problem — a broken file, a preset defined twice, a directory
without presets — is its one-line message on stderr, and the exit status is then 2, so a
user's own CI can run ``llmchat presets --config-dir my-presets`` to check their files.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from llmchat.cli.common import USAGE_STATUS, UsageError, choose_preset, exit_usage
from llmchat.core.presets import LoadedPreset, PresetCatalog, load_catalog
from llmchat.settings import CatalogSettings, add_args_from_model, environment_help, load

COLUMNS = ("ID", "NAME", "SERVER", "MODEL")


def presets_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmchat presets",
        description="List the presets and check every preset file: exit status 2 when any is "
        "broken, with one line for each on stderr.",
        epilog=f"Environment: {environment_help(CatalogSettings)} gives the default for the flag.",
    )
    add_args_from_model(parser, CatalogSettings)
    return parser


def server_of(preset: LoadedPreset) -> str:
    """Where the preset's answers come from, without credentials (``preset.server``)."""
    embedded = preset.settings.embedded
    if embedded is None:
        return preset.server
    local = f"local model {embedded.model}"
    # An embedded preset uses its base_url only when it names one and something answers there.
    return f"{preset.server}, else {local}" if preset.settings.base_url else local


def rows(catalog: PresetCatalog) -> list[tuple[str, ...]]:
    try:
        first = choose_preset(catalog, None, environ={})
    except UsageError:
        first = None
    return [
        (("* " if preset.id == first else "  ") + preset.id, preset.label, server_of(preset), preset.model)
        for preset in catalog.presets.values()
    ]


def write_table(table: list[tuple[str, ...]], out: TextIO) -> None:
    header = ("  " + COLUMNS[0], *COLUMNS[1:])
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write("  ".join(cells).rstrip() + "\n")


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        settings: CatalogSettings = load(CatalogSettings, vars(presets_parser().parse_args(argv)))
    except UsageError as exc:
        exit_usage(exc)
    catalog = load_catalog(settings.config_dir)
    if catalog.presets:
        write_table(rows(catalog), out)
    for problem in catalog.problems:
        err.write(f"llmchat: error: {problem}\n")
    return USAGE_STATUS if catalog.problems else 0
