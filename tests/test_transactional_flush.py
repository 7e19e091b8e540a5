"""After a `transaction=True` test the database is as Django's TRUNCATE and post_migrate leave it
(tests/transactional_flush.py): no row but the content types and permissions, and all of those."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.test import TransactionTestCase

from requests_app.models import Status
from requests_app.review import ask_for_information
from tests.parts import missing, need_postgres
from tests.review_fixtures import awaiting
from tests.transactional_flush import KEPT_TABLES

pytestmark = pytest.mark.django_db(transaction=True)


class ATransactionalTest(TransactionTestCase):
    __test__ = False  # not collected: the test calls its teardown

    def runTest(self) -> None:
        """Only its teardown runs."""


def rows_per_table() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 (a model's table)
            counts[table] = cursor.fetchone()[0]
    return counts


def test_the_teardown_leaves_only_what_post_migrate_makes_again(account, customer, reviewer, admin_user):
    request = awaiting(account, customer)
    ask_for_information(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Which host sends?")
    filled = {table for table, count in rows_per_table().items() if count}
    assert {"accounts_account", "requests_app_unblockrequest", "requests_app_requestmessage"} <= filled
    content_types = set(ContentType.objects.values_list("pk", flat=True))

    ATransactionalTest()._fixture_teardown()

    assert {table for table, count in rows_per_table().items() if count} == KEPT_TABLES
    assert set(ContentType.objects.values_list("pk", flat=True)) == content_types, "kept, not made again"
    kept = (ContentType.objects.count(), Permission.objects.count())
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert (ContentType.objects.count(), Permission.objects.count()) == kept, "post_migrate had nothing to add"


@missing(need_postgres("its catalogue of foreign keys"))
def test_every_foreign_key_is_checked_at_commit_so_rows_go_in_any_order():
    with connection.cursor() as cursor:
        cursor.execute("SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'")
        foreign_keys = cursor.fetchall()
        cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND NOT (condeferrable AND condeferred)")
        assert foreign_keys and cursor.fetchall() == []
