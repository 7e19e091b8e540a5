"""An INSERT built once per model, for a row that every call of a busy API writes.

The ORM builds a model instance and compiles its INSERT anew for every row: for the abuse API's
one report per request, that cost twice the time the database took to store it (bench/revoke.py).
The statement here is built once from the model's metadata; each value still goes through its
field's own conversion, as the ORM's would.
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


class InsertStatement:
    """Inserts rows of `model`; a row that a unique constraint already holds is skipped, not an error.

    Skipping (ON CONFLICT DO NOTHING, in PostgreSQL and SQLite alike) spares the caller a savepoint
    and an exception for the duplicate: `insert` answers None, and the caller looks the row up.
    """

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        self.attnames = frozenset(field.attname for field in self.fields)

    def insert(self, **values: object) -> int | None:
        """The new row's primary key, or None if it would break a unique constraint.

        `values` by attribute name (`reporter_id`, not `reporter`); the others take their defaults.
        """
        unknown = values.keys() - self.attnames
        if unknown:
            raise TypeError(f"{self.model.__name__} has no fields {sorted(unknown)}")
        connection = connections[DEFAULT_DB_ALIAS]
        given = [values[field.attname] if field.attname in values else field.get_default() for field in self.fields]
        params = [field.get_db_prep_save(value, connection) for field, value in zip(self.fields, given, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(self._sql(connection.vendor), params)
            row = cursor.fetchone()
        return row[0] if row else None

    @functools.cache  # noqa: B019 - one statement per vendor, for the life of the process, as the models
    def _sql(self, vendor: str) -> str:
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        meta = self.model._meta
        columns = ", ".join(quote(field.column) for field in self.fields)
        parameters = ", ".join(["%s"] * len(self.fields))
        # Only names from the model's metadata, quoted; every value is a parameter.
        return (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({parameters})"  # noqa: S608
            f" ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
        )
