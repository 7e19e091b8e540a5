"""How a `transaction=True` test's database is emptied after it (the live server's tests, the workers'):
the rows are deleted, the tables are not truncated.

Django's TransactionTestCase truncates every table, then emits post_migrate, which creates every content
type and permission again: about 0.4 s a test on PostgreSQL, where TRUNCATE gives each of the 50 tables and
its indexes new files. Deleting the rows, in one transaction whose foreign keys Django made deferrable
(checked at its commit, so the order does not matter), takes about 0.05 s. Content types and permissions
stay: post_migrate would only create them again as they were.

A plugin of tests/conftest.py's `pytest_plugins`. Tests that name `available_apps` or a serialized rollback
keep Django's own teardown.
"""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TransactionTestCase

# What post_migrate fills from the models themselves, the same before and after any test.
KEPT_TABLES = frozenset({ContentType._meta.db_table, Permission._meta.db_table})


def empty_database(connection: BaseDatabaseWrapper) -> None:
    """Delete the rows of every table of the project's models, but those that post_migrate fills."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for table in sorted(set(tables) - KEPT_TABLES):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608 (a model's table)


def _fixture_teardown(test_case: TransactionTestCase, django_teardown) -> None:
    if test_case.available_apps is not None or test_case.serialized_rollback:
        django_teardown(test_case)
        return
    for name in test_case._databases_names(include_mirrors=False):
        empty_database(connections[name])


@pytest.fixture(scope="session", autouse=True)
def _empty_by_deleting() -> Iterator[None]:
    django_teardown = TransactionTestCase._fixture_teardown
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            TransactionTestCase, "_fixture_teardown", lambda test_case: _fixture_teardown(test_case, django_teardown)
        )
        yield
