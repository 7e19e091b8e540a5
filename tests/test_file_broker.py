"""Finding 9 of the security probe: the embedded worker was handed a half-written message by kombu's file
broker ("Unrecoverable error: JSONDecodeError"), died, and nothing restarted it. operations.file_broker writes
whole messages only and sets aside one it cannot read; scripts/run starts a worker again when it exits
(tests/test_embedded_default.py, on a copy of the project)."""

import logging
import threading
from pathlib import Path
from queue import Empty

import pytest
from celery.worker import state as worker_state
from kombu import Connection

from operations.file_broker import Channel

QUEUE = "celery"


@pytest.fixture(scope="module")
def control_folder(tmp_path_factory) -> Path:
    """One for the module: kombu keeps the exchanges it declared in memory, per process, and would not
    write their bindings again into a fresh folder."""
    return tmp_path_factory.mktemp("broker-control")


@pytest.fixture
def broker(tmp_path, control_folder) -> tuple[Connection, Path, Path]:
    folder, torn = tmp_path / "broker", tmp_path / "broker-torn"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "torn_folder": str(torn),
        "control_folder": str(control_folder),
        "polling_interval": 0.05,
    }
    with Connection("filesystem://", transport="operations.file_broker:Transport", transport_options=options) as conn:
        yield conn, folder, torn


@pytest.mark.parametrize(
    "content",
    [
        b'{"body": "eyJoZWxsbyI6ICJ3b3JsZCJ9", "headers": {',
        b'{"body": "eyJoZWxsbyI6ICJ3b3JsZCJ9", "headers": {}}',
        b'{"body": "", "properties": {"body_encoding": "base64"}}',
        b'{"body": "not base64!", "properties": {"delivery_tag": "x", "body_encoding": "base64"}}',
        b'["a", "list"]',
        b'{"properties": "a string"}',
    ],
    ids=["torn", "no-properties", "no-delivery-tag", "bad-base64", "list", "properties-not-an-object"],
)
def test_a_message_that_cannot_be_read_is_set_aside_and_logged_and_the_next_one_is_delivered(
    broker, caplog, content
):
    """Torn, or well-formed JSON that is no kombu message: that crashed the embedded worker too
    (KeyError('delivery_tag'), issue 23.8)."""
    conn, folder, torn = broker
    # kombu reads in name order and names a message by monotonic milliseconds: "0_" sorts before any of them.
    (folder / f"0_unreadable.{QUEUE}.msg").write_bytes(content)
    queue = conn.SimpleQueue(QUEUE)
    queue.put({"hello": "world"})

    with caplog.at_level(logging.ERROR, logger="operations.file_broker"):
        message = queue.get(timeout=10)

    assert message.payload == {"hello": "world"}
    message.ack()
    assert (torn / f"0_unreadable.{QUEUE}.msg").read_bytes() == content, "kept as it was, for a person"
    assert "cannot be read" in caplog.text and "0_unreadable" in caplog.text
    assert list(folder.glob("*.msg")) == []


def test_a_message_being_written_is_not_read(broker):
    conn, folder, _torn = broker
    (folder / f".2_writing.{QUEUE}.msg.part").write_bytes(b'{"body": "ey')
    queue = conn.SimpleQueue(QUEUE)

    with pytest.raises(queue.Empty):
        queue.get(timeout=0.5)
    assert (folder / f".2_writing.{QUEUE}.msg.part").exists()


def test_a_message_is_written_whole_under_its_final_name(broker):
    conn, folder, _torn = broker
    conn.SimpleQueue(QUEUE).put({"n": 1})

    [written] = folder.iterdir()
    assert written.name.endswith(f".{QUEUE}.msg") and not written.name.startswith(".")
    assert b'"body"' in written.read_bytes()


def test_a_message_that_comes_after_several_polls_is_delivered(broker, monkeypatch):
    """The wait goes in steps of the polling interval (below), and on to its timeout."""
    conn, _folder, _torn = broker
    queue = conn.SimpleQueue(QUEUE)
    queue.put({"late": True})
    polls = []
    read = Channel._get

    def late(channel: Channel, name: str) -> dict:
        polls.append(name)
        if len(polls) <= 10:
            raise Empty()
        return read(channel, name)

    monkeypatch.setattr(Channel, "_get", late)
    message = queue.get(timeout=60)

    assert message.payload == {"late": True} and len(polls) == 11
    message.ack()


def test_a_worker_told_to_stop_stops_waiting_for_messages(broker, monkeypatch):
    """Celery's worker loop waits for this transport 2 s at a time, and once more after TERM or Ctrl-C:
    an idle worker took up to 4 s to begin its warm shutdown (scripts/run's Ctrl-C waited for it)."""
    conn, _folder, _torn = broker
    queue = conn.SimpleQueue(QUEUE)
    monkeypatch.setattr(worker_state, "should_stop", 0)  # what the worker's TERM handler sets: the exit code
    outcome = []

    def wait() -> None:
        with pytest.raises(queue.Empty):
            queue.get(timeout=60)
        outcome.append("gave up")

    waiting = threading.Thread(target=wait, daemon=True)
    waiting.start()
    waiting.join(10)  # a generous bound: it gives up after one polling interval

    assert outcome == ["gave up"]
