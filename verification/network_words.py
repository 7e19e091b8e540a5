"""A network error as the words a customer reads in a check's summary; the library's own text stays in the evidence.

"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate
(_ssl.c:1006)" and "[Errno 104] Connection reset by peer" tell a customer nothing they can act on.
"""

import errno
import socket
import ssl

from django.utils.translation import gettext as _


def _certificate(exc: ssl.SSLCertVerificationError) -> str:
    reason = (exc.verify_message or "").lower()
    if "expired" in reason:
        return _("its TLS certificate has expired")
    if "hostname mismatch" in reason or "ip address mismatch" in reason:
        return _("its TLS certificate is for another name")
    if "self-signed" in reason or "self signed" in reason:
        return _("its TLS certificate is self-signed, not signed by a public certificate authority")
    return _("its TLS certificate is not signed by a public certificate authority (or its chain is incomplete)")


def in_words(exc: BaseException) -> str:
    """What went wrong, as a phrase to put in a sentence ("… (it refused the connection)")."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _certificate(exc)
    if isinstance(exc, ssl.SSLError):
        return _("the TLS handshake failed")
    if isinstance(exc, TimeoutError):
        return _("it did not answer in time")
    if isinstance(exc, ConnectionRefusedError):
        return _("it refused the connection")
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return _("it closed the connection half-way")
    if isinstance(exc, socket.gaierror):
        return _("the name does not resolve")
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return _("it cannot be reached from the Internet")
    return _("the connection failed")


def raw(exc: BaseException) -> str:
    """The library's own text, for the evidence staff read."""
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
