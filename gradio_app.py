"""llmchat entry point: ``python gradio_app.py --help``. Also the Hugging Face Spaces app file.

Builds the module-level ``demo`` (so ``gradio gradio_app.py`` and Spaces find it) from the command
line when run as a script, else from the environment alone. The same as the ``llmchat`` command
(``llmchat web``), for a checkout without installing it.
"""

import sys

from llmchat.cli.app_config import config_or_exit
from llmchat.cli.common import setup_logging

setup_logging()
# Checked before gradio is imported: gradio reads GRADIO_SERVER_PORT itself, with a traceback.
config = config_or_exit(sys.argv[1:] if __name__ == "__main__" else [])

from llmchat.cli.web import build_or_exit, launch  # noqa: E402 - after the check above

demo = build_or_exit(config)

if __name__ == "__main__":
    launch(demo, config)
