"""``python -m llmchat ...``: the same as the ``llmchat`` command."""

from llmchat.cli import main

raise SystemExit(main())
