"""Hostile mail headers cannot exhaust the intake: every report up to the body limit is taken in, or
rejected with its reason and kept, under a stated memory ceiling (finding 2 of issue 23: 304 KB of
encoded words took Python's mail parser to 2.4 GB, 1.9 MB to 23.8 GB)."""

import json
import tracemalloc
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from abuse import formats
from abuse.models import RejectedReport
from abuse.reports import Unreadable
from tests.abuse_samples import reporter_with_token, sample
from tests.harnesses.celery_workers import worker_env
from tests.harnesses.preloaded_commands import PreloadedCommand
from tests.hostile_headers import TOKENS, field, hostile_mails, nested, placed
from tests.parts import missing, need_postgres

# Peak resident memory of `manage.py ingest_abuse` taking in one report of up to the body limit (2 MB):
# measured 130-188 MB for the shapes below (the most for "many fields"), 3 GB and more before the limits.
# Each run is a fork of one process with Django and the command imported: the peak is that process's
# memory at the fork plus the run's own growth (tests/harnesses/preloaded_commands.py).
CEILING_MB = 256
# The in-process check (tracemalloc): what reading one hostile report may allocate at its peak.
PARSE_CEILING_MB = 64
ADDRESS_SPACE = 3 << 30  # the subprocess's RLIMIT_AS: the old parser fails here, not the machine
ENVELOPE = 4000  # the sample around the hostile header, and base64's line ends


def at_body_limit(where: str, token: str, fold_every: int = 0) -> bytes:
    size = django_settings.PORTAL_ABUSE_MAX_REPORT_BYTES - ENVELOPE
    if where in ("rfc822-headers", "x-arf"):
        size = size * 3 // 4 - size // 50  # base64 grows it by a third, and its line ends
    return placed(where, field(b"To", TOKENS[token], size, fold_every))


def many_fields() -> bytes:
    count = (django_settings.PORTAL_ABUSE_MAX_REPORT_BYTES - ENVELOPE) // 7
    return placed("original", b"X-A: b\n" * count)


def deeply_nested() -> bytes:
    inner = sample("fbl-source-ip.eml")
    depth = (django_settings.PORTAL_ABUSE_MAX_REPORT_BYTES - len(inner)) // 50
    return nested(depth, inner)


def many_parts() -> bytes:
    part = b"--b\nContent-Type: text/plain\n\nx\n"
    count = (django_settings.PORTAL_ABUSE_MAX_REPORT_BYTES - ENVELOPE) // len(part)
    head = b"From: a@b.example\nSubject: parts\nContent-Type: multipart/mixed; boundary=b\n\n"
    return head + part * count + b"--b--\n"


# Each is rejected, but for the X-ARF mail: a part beyond the limits is not its machine part, and the
# sample's own machine part is read.
HOSTILE = {
    "encoded words in the message's header": lambda: at_body_limit("message", "encoded-words"),
    "encoded addresses in the attached original": lambda: at_body_limit("original", "encoded-addresses"),
    "quoted strings folded in the original": lambda: at_body_limit("original", "quoted-strings", 7),
    "encoded words in base64 text/rfc822-headers": lambda: at_body_limit("rfc822-headers", "encoded-addresses"),
    "an address list in an X-ARF machine part": lambda: at_body_limit("x-arf", "addresses"),
    "an address list in a SpamCop report": lambda: at_body_limit("spamcop", "addresses"),
    "one long line folded at every word": lambda: at_body_limit("message", "words", 1),
    "many fields": many_fields,
    "deeply nested attached messages": deeply_nested,
    "many MIME parts": many_parts,
}


@pytest.fixture(scope="module")
def ingest_abuse(django_db_setup) -> Iterator[PreloadedCommand]:
    command = PreloadedCommand("abuse", "ingest_abuse", worker_env())
    yield command
    command.close()


@pytest.mark.parametrize("shape", HOSTILE)
@missing(need_postgres("a database the command shares"))
@pytest.mark.django_db(transaction=True)
def test_a_hostile_report_at_the_body_limit_is_rejected_with_its_reason_under_the_memory_ceiling(
    shape, tmp_path, ingest_abuse
):
    raw = HOSTILE[shape]()
    assert len(raw) <= django_settings.PORTAL_ABUSE_MAX_REPORT_BYTES
    (tmp_path / "report.eml").write_bytes(raw)

    run = ingest_abuse.run("--json", str(tmp_path / "report.eml"), out=tmp_path / "out", address_space=ADDRESS_SPACE)

    output = (tmp_path / "out").read_text()
    assert run.exit_code == 0, output[-2000:]
    assert run.peak_mb < CEILING_MB, f"{shape}: {run.peak_mb} MB at its peak"
    result = json.loads(output.splitlines()[-1])
    if "X-ARF" in shape:
        assert result["status"] in ("accepted", "unmatched")
        return
    assert result["status"] == "rejected"
    assert "limit" in result["reason"] or "nested" in result["reason"], result["reason"]
    assert bytes(RejectedReport.objects.get(pk=result["rejected"]).raw) == raw


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(raw=hostile_mails())
def test_a_hostile_header_is_read_or_refused_with_a_reason_within_the_parse_ceiling(raw):
    tracemalloc.start()
    try:
        try:
            formats.read(raw)
        except Unreadable as exc:
            assert str(exc)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PARSE_CEILING_MB << 20, f"{peak >> 20} MB at the peak"


@pytest.mark.parametrize(
    ("setting", "value", "where", "header"),
    [
        ("PORTAL_ABUSE_MAX_ENCODED_WORDS", 20, "message", field(b"Subject", TOKENS["encoded-words"], 14 * 21)),
        ("PORTAL_ABUSE_MAX_HEADER_FIELD_BYTES", 1000, "original", field(b"To", TOKENS["addresses"], 1100)),
        ("PORTAL_ABUSE_MAX_HEADER_FIELDS", 50, "rfc822-headers", b"X-A: b\n" * 60),
        ("PORTAL_ABUSE_MAX_HEADER_BYTES", 4000, "spamcop", field(b"Subject", b"a ", 2000) * 3),
        ("PORTAL_ABUSE_MAX_HEADER_BYTES", 4000, "x-arf", field(b"Subject", b"a ", 2000) * 3),
    ],
)
def test_each_limit_rejects_with_its_reason_and_a_report_within_them_is_read(setting, value, where, header, settings):
    """x-arf: a part whose header block is beyond the limits is not the machine part, so the
    machine part is the sample's own and the report is read."""
    setattr(settings, setting, value)
    raw = placed(where, header)
    if where == "x-arf":
        assert formats.read(raw).reports
        return
    with pytest.raises(Unreadable, match=r"limit|more than"):
        formats.read(raw)
    setattr(settings, setting, value * 2)
    assert formats.read(raw).reports


@pytest.mark.django_db
def test_the_api_rejects_a_hostile_mail_with_its_reason_and_keeps_it(settings):
    settings.PORTAL_ABUSE_MAX_ENCODED_WORDS = 20
    raw = placed("original", field(b"Subject", TOKENS["encoded-words"], 14 * 30))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")

    answer = api.post("/api/v1/abuse/arf/", raw, content_type="message/rfc822")

    assert answer.status_code == 400
    assert "encoded words" in answer.json()["reason"]
    assert bytes(RejectedReport.objects.get(pk=answer.json()["rejected"]).raw) == raw
