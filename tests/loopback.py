"""Ports on 127.0.0.1 for the servers a test starts, or for a service that is down."""

import socket


def free_port() -> int:
    """A port nobody listens on now: bind a server to it, or point a client at it to find it closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
