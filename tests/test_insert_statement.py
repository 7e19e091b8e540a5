"""portal.insert_statement: one row, converted as the ORM would, a duplicate skipped without an error."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from abuse.models import AbuseReport, Reporter
from portal.insert_statement import InsertStatement

REPORTS = InsertStatement(AbuseReport)
OCCURRED = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


def insert(fingerprint: str, **values):
    return REPORTS.insert(
        channel="json", fingerprint=fingerprint, category="spam", source_ip="192.0.2.7", occurred_at=OCCURRED,
        raw=b"\x00raw\xff", **values,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_row_reads_back_as_the_orm_would_have_stored_it():
    reporter = Reporter.objects.create(name="fbl")

    pk = insert("a" * 64, reporter_id=reporter.pk, reference="r-1", evidence={"subject": "Cheap ✓", "n": [1, 2]})

    row = AbuseReport.objects.get(pk=pk)
    assert (row.reporter, row.reference, row.source_ip, row.occurred_at) == (reporter, "r-1", "192.0.2.7", OCCURRED)
    assert row.evidence == {"subject": "Cheap ✓", "n": [1, 2]}
    assert bytes(row.raw) == b"\x00raw\xff"
    # Fields not given take the model's defaults.
    assert (row.deliveries, row.redacted, row.matched_at, row.account_id) == (1, [], None, None)
    assert row.received_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_is_skipped_and_the_transaction_goes_on():
    first = insert("b" * 64)

    with transaction.atomic():
        again = insert("b" * 64)
        other = insert("c" * 64)

    assert (again, AbuseReport.objects.filter(fingerprint="b" * 64).count()) == (None, 1)
    assert set(AbuseReport.objects.values_list("pk", flat=True)) == {first, other}


def test_unknown_fields_are_refused_before_the_database():
    with pytest.raises(TypeError, match=r"AbuseReport has no fields \['reporter'\]"):
        REPORTS.insert(reporter=None)
