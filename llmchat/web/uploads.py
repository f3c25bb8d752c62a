"""Gradio's upload folder: where the page's attachments land, and the only place they are read from."""

from __future__ import annotations

from pathlib import Path

from gradio.utils import get_upload_folder


def upload_root() -> Path:
    """Gradio's upload folder (``GRADIO_TEMP_DIR``, else the system's temporary folder), resolved."""
    return Path(get_upload_folder()).resolve()
