"""Messages in files as reporters deliver them: one .eml or .json XARF document, an mbox, or a Maildir."""

import mailbox
from collections.abc import Iterator
from pathlib import Path


def messages_in(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of each message, in the file's order; the label names file and message."""
    if path.is_dir():
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield f"{path}/{key}", box.get_bytes(key)
        return
    with path.open("rb") as file:
        is_mbox = file.read(5) == b"From "
    if not is_mbox:
        yield str(path), path.read_bytes()
        return
    box = mailbox.mbox(path, factory=None, create=False)
    for number, key in enumerate(box.keys(), start=1):
        yield f"{path}#{number}", box.get_bytes(key)
