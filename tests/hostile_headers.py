"""Report mails whose headers attack Python's mail parser, built around the feedback-loop sample:
many RFC 2047 encoded words, long folded lines, long address lists, many fields, deep nesting of
attached messages; placed in the message's own header, in the attached original, or in a
base64-encoded text/rfc822-headers part, an X-ARF machine part or a SpamCop report."""

import base64

from hypothesis import strategies as st

from tests.abuse_samples import sample

# A token Python's parser reads slowly, repeated: each makes one node or more of its token tree.
TOKENS = {
    "encoded-words": b"=?utf-8?q?a?= ",
    "encoded-addresses": b"=?utf-8?q?a?= <a@b.example>, ",
    "quoted-strings": b'"a" ',
    "addresses": b"a@b.example, ",
    "comments": b"(a) ",
    "words": b"a ",
}
WHERE = ("message", "original", "rfc822-headers", "x-arf", "spamcop")


def field(name: bytes, token: bytes, size: int, fold_every: int = 0) -> bytes:
    """`name: token token ...` of about `size` bytes, folded every `fold_every` tokens (0: never)."""
    if not fold_every:
        return name + b": " + token * max(1, size // len(token)) + b"\n"
    line = token * fold_every + b"\n "
    return name + b": " + line * max(1, size // len(line)) + b"\n"


def nested(depth: int, inner: bytes) -> bytes:
    """`inner` (a message) attached inside `depth` messages, each attached to the next."""
    for _ in range(depth):
        inner = b"Subject: attached\nContent-Type: message/rfc822\n\n" + inner
    return inner


def placed(where: str, header: bytes) -> bytes:
    """The feedback-loop sample carrying the hostile `header` field(s) at `where`."""
    fbl = sample("fbl-source-ip.eml")
    if where == "message":
        return header + fbl
    if where == "original":
        return fbl.replace(b"Content-Disposition: inline\n\n", b"Content-Disposition: inline\n\n" + header)
    if where == "rfc822-headers":
        original = base64.encodebytes(header + b"Subject: the original\n")
        before, _sep, _rest = fbl.partition(b"------=_Part_7731_1605867342\nContent-Type: message/rfc822")
        part = b"Content-Type: text/rfc822-headers\nContent-Transfer-Encoding: base64\n\n" + original
        return before + b"------=_Part_7731_1605867342\n" + part + b"------=_Part_7731_1605867342--\n"
    if where == "x-arf":
        machine = b"Content-Type: text/plain; name=report.txt\nContent-Transfer-Encoding: base64\n\n"
        machine += base64.encodebytes(header + b"Report-Type: spam\nSource: 198.51.100.7\n")
        xarf = sample("x-arf-login-attack.eml")
        end = b"------=_Part_bl_8812345--"
        return xarf.replace(end, b"------=_Part_bl_8812345\n" + machine + b"\n" + end)
    return sample("spamcop-report.eml").replace(b"[ Offending message ]\n", b"[ Offending message ]\n" + header)


@st.composite
def hostile_mails(draw) -> bytes:
    """A report mail with hostile header fields (hypothesis): any token, any size up to 300 KB,
    folded or not, several fields, placed anywhere, possibly inside nested attached messages."""
    token = draw(st.sampled_from(sorted(TOKENS.values())))
    name = draw(st.sampled_from([b"Subject", b"To", b"From", b"Received", b"Reply-To", b"X-Anything"]))
    size = draw(st.integers(1, 300_000))
    fields = draw(st.integers(1, 4))
    fold_every = draw(st.sampled_from([0, 1, 7, 100]))
    header = field(name, token, size // fields, fold_every) * fields
    depth = draw(st.integers(0, 12))
    if depth:
        header = b"Content-Type: message/rfc822\n\n" + nested(depth - 1, header + b"\nbody\n")
        return sample("fbl-source-ip.eml").replace(
            b"Content-Type: message/rfc822\nContent-Disposition: inline\n\n", header
        )
    return placed(draw(st.sampled_from(WHERE)), header)
