"""A socket shut down when its check's deadline passes, whatever call is waiting on it then.

A socket timeout bounds one read: a server that sends one byte every few seconds never trips it,
and a 2 KB line would last hours (issue 23, finding 4). Reading against the remaining budget helps
only where our code does the reading; http.client and the TLS handshake read for themselves. So a
timer shuts the socket down at the deadline: the waiting read returns at once (Linux wakes it), the
check ends with a timeout, and its owner closes the socket.
"""

import contextlib
import socket
import threading

from verification.outcome import Deadline


class SocketDeadline:
    """Shuts down the socket it watches (`watch`, again after a TLS upgrade) at `deadline`."""

    def __init__(self, deadline: Deadline) -> None:
        self.passed = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline.remaining(), self._shut_down)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> socket.socket:
        """Watch `sock` from now on (shut down at once if the deadline has passed); returns it."""
        with self._lock:
            self._socket = sock
            if self.passed:
                _shut_down(sock)
        return sock

    def cancel(self) -> None:
        """The socket is closed by its owner: nothing left to watch."""
        self._timer.cancel()
        with self._lock:
            self._socket = None

    def _shut_down(self) -> None:
        with self._lock:
            self.passed = True
            if self._socket is not None:
                _shut_down(self._socket)


def _shut_down(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: ssl.SSLSocket.shutdown would drop its TLS
    # state under the thread that is reading from it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
