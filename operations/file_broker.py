"""The embedded default's broker: kombu's file transport, with whole messages only and no fatal one.

kombu's `filesystem` transport writes a message into its final file name while a worker may
already move and read that file: the worker then got half a message, and its JSONDecodeError was
"Unrecoverable" (the worker died and the pipeline stopped with the web server still serving).
Here a message is written under a name the readers skip and renamed into place once whole
(rename is atomic within a folder), and a message that still cannot be read (a disk fault, a
file copied in by hand, well-formed JSON that is not a kombu message: kombu's KeyError on its
missing `properties` was as fatal) is logged and set aside in `torn_folder`, never fatal.

Chosen over kombu's SQLAlchemy transport on SQLite: that needs SQLAlchemy, a dependency for the
embedded default alone, and its polling shares SQLite's one writer with the web process and the
worker ("database is locked"); production uses Redis either way.
"""

import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from celery.worker import state as worker_state
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    @cached_property
    def torn_folder(self) -> Path:
        return Path(self.transport_options.get("torn_folder") or f"{self.data_folder_in}-torn")

    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        """Write the message under a name `_get` skips, then rename it into place: readers see it whole."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _get(self, queue: str) -> dict:
        """The next message of `queue` that can be read; one that cannot is set aside and logged."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            payload = self._take(name)
            if payload is None:
                continue
            try:
                message = loads(bytes_to_str(payload))
                self.Message(message, channel=self)  # what the consumer builds: it raised out of the worker
            except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON, encoding, shape
                self._set_aside(name, payload, exc)
                continue
            return message
        raise Empty()

    def _take(self, name: str) -> bytes | None:
        """Move the file out of the queue (another worker may win it: None) and read it."""
        folder = self.processed_folder if self.store_processed else tempfile.gettempdir()
        try:
            shutil.move(os.path.join(self.data_folder_in, name), folder)
        except OSError:
            return None
        taken = os.path.join(folder, name)
        try:
            payload = Path(taken).read_bytes()
            if not self.store_processed:
                os.remove(taken)
        except OSError as exc:
            raise ChannelError(f"Cannot read file {taken!r} from queue.") from exc
        return payload

    def _set_aside(self, name: str, payload: bytes, error: Exception) -> None:
        self.torn_folder.mkdir(parents=True, exist_ok=True)
        (self.torn_folder / name).write_bytes(payload)
        logger.error(
            "Broker message %s cannot be read (%r); set aside in %s, the worker goes on",
            name,
            error,
            self.torn_folder,
        )


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection: object, timeout: float | None = None) -> None:
        """kombu's wait for a message, given up as soon as this worker is told to stop (TERM, Ctrl-C).

        Celery's loop for a transport without asynchronous I/O asks for `timeout=2.0` at a time, notices a
        shutdown only between two waits, and waits once more after noticing it: an idle worker took up to
        4 s to begin its warm shutdown. Here the wait goes in steps of `polling_interval`.
        """
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            step = self.polling_interval if deadline is None else min(self.polling_interval, deadline - monotonic())
            try:
                return super().drain_events(connection, timeout=max(step, 0))
            except TimeoutError:
                if _worker_told_to_stop() or (deadline is not None and monotonic() >= deadline):
                    raise


def _worker_told_to_stop() -> bool:
    """Set by the worker's TERM and Ctrl-C handlers, to the exit code (0 too); None or False otherwise."""
    return worker_state.should_stop is not None and worker_state.should_stop is not False
