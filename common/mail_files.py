"""Mail kept as files, one .eml per message, for the embedded default: a person opens them in any mail program.

Chosen by PORTAL_MAIL_FOLDER (portal/settings.py); `manage.py sent_mail` lists what is there.
"""

from email import message_from_binary_file, policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from uuid import uuid4

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class EmlFileBackend(BaseEmailBackend):
    """Writes each message to EMAIL_FILE_PATH as <UTC time>-<random>.eml, whole or not at all."""

    def __init__(self, *args: object, file_path: str | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S%fZ}-{uuid4().hex[:8]}.eml"
            partial = self.folder / f".{name}.partial"  # a reader never sees half a message
            partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
            partial.rename(self.folder / name)
        return len(email_messages)


def sent_mail(folder: Path) -> list[tuple[Path, ParsedMessage]]:
    """The messages kept in `folder`, oldest first, each with its file."""
    kept = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as file:
            kept.append((path, message_from_binary_file(file, policy=policy.default)))
    return kept
