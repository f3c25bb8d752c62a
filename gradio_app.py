"""llmchat entry point: ``python gradio_app.py --help``. Also the Hugging Face Spaces app file.

Builds the module-level ``demo`` (so ``gradio gradio_app.py`` and Spaces find it) from the command
line when run as a script, else from the environment alone.
"""

import sys

from llmchat.cli.web import build_or_exit, launch, setup_logging

setup_logging()
demo, config = build_or_exit(sys.argv[1:] if __name__ == "__main__" else [])

if __name__ == "__main__":
    launch(demo, config)
