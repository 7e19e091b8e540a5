"""The machine part of an X-ARF 0.2 mail is YAML: read as YAML, values as written, and bounded.

The samples are in the shapes real senders use (tests/abuse_samples: blocklist.de's `report.txt`
that begins with `---`, pyxarf's quoted values); the hostile ones are built from them.
"""

import pytest

from abuse import formats, intake
from abuse.formats.machine_yaml import MAX_CHARS, fields_of_yaml
from abuse.models import RejectedReport
from tests.abuse_samples import sample

pytestmark = pytest.mark.django_db

BLOCKLIST = sample("x-arf-blocklist-yaml.eml")
REPORT_START = b"---\nReported-From: abuse-team@blocklist.example\n"


def with_report(machine_part: bytes) -> bytes:
    """The blocklist.de sample with another report.txt (what follows it up to the logs is dropped)."""
    head, _sep, rest = BLOCKLIST.partition(REPORT_START)
    return head + machine_part + b"\n------=_Part_bl_90210" + rest.partition(b"------=_Part_bl_90210")[2]


def fields(report) -> dict[str, list[str]]:
    return report.evidence["x_arf"]


def test_a_report_that_begins_with_a_document_marker_is_read():
    (report,) = formats.read(BLOCKLIST).reports

    assert (report.source_ip, report.reference) == ("198.51.100.7", "90210@blocklist.example")
    assert report.occurred_at.isoformat() == "2026-11-24T03:14:15+01:00"
    assert "Failed password for root" in report.evidence["logs"]


def test_values_stay_as_written_not_as_yaml_types():
    """An ISO date is not a datetime, a version is not a float (0.10 is not 0.1), quotes are the sender's."""
    part = REPORT_START + b"Report-Type: login-attack\nSource: 198.51.100.7\nDate: 2026-11-24T02:14:15Z\n"
    (report,) = formats.read(with_report(part + b"Version: 0.10\nPort: 22\nReport-ID: '0012'\n")).reports

    assert fields(report)["version"] == ["0.10"]
    assert fields(report)["port"] == ["22"]
    assert report.reference == "0012"
    assert report.occurred_at.isoformat() == "2026-11-24T02:14:15+00:00"


def test_a_yaml_directive_and_a_list_of_sources_are_several_reports():
    part = (
        b"%YAML 1.1\n---\nReported-From: abuse-team@blocklist.example\nReport-Type: spam\n"
        b"Date: 2026-11-24T02:14:15Z\nReport-ID: list-1\nSource:\n  - 198.51.100.7\n  - 198.51.100.8\n"
    )

    reports = formats.read(with_report(part)).reports

    assert [(r.source_ip, r.reference) for r in reports] == [
        ("198.51.100.7", "list-1#1"),
        ("198.51.100.8", "list-1#2"),
    ]


@pytest.mark.parametrize(
    ("machine_part", "reason"),
    [
        pytest.param(
            REPORT_START + b"Report-Type: &t spam\nSource: 198.51.100.7\nDate: 2026-11-24T02:14:15Z\nCopy: *t\n",
            "anchors and aliases are refused",
            id="an alias",
        ),
        pytest.param(
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
            "anchors and aliases are refused",
            id="billion laughs",
        ),
        pytest.param(REPORT_START + b"Deep: " + b"[" * 200 + b"]" * 200 + b"\n", "nested deeper", id="deep nesting"),
        pytest.param(
            REPORT_START + b"Logs: '" + b"x" * MAX_CHARS + b"'\n", f"over {MAX_CHARS} characters", id="too long"
        ),
        pytest.param(REPORT_START + b"Report-Type: spam\nSubject: Re: spam\n", "Not YAML", id="not YAML"),
    ],
)
def test_a_hostile_or_broken_machine_part_is_refused_with_its_reason_and_kept(machine_part, reason):
    raw = with_report(machine_part)

    (result,) = intake.ingest(raw, reporter=None)

    assert result.status == intake.REJECTED
    assert "no machine-readable part" in result.reason and reason in result.reason
    assert bytes(RejectedReport.objects.get().raw) == raw


def test_tags_construct_nothing():
    found = fields_of_yaml("Source: !!python/object/apply:os.system ['true']\nPort: !!int 22\n")

    assert found == [("Source", "true"), ("Port", "22")]
