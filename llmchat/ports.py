"""A free TCP port on 127.0.0.1: the one definition, for the app and for tests and benchmarks.

The app needs one for its local model's server (``llmchat.engine.embedded``); tests, benchmarks and the
test harness in ``llmchat.testing`` need them for the servers they start. The port is free when
this returns; another process could take it before the caller binds it, which on 127.0.0.1 with
ports handed out by the kernel in turn is rare enough that callers simply retry or fail loudly.
"""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on at ``host`` right now, chosen by the kernel."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
