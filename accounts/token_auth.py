"""API authentication with tokens stored as digests (see accounts.models.HashedToken)."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.expressions import Col
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from accounts.models import CustomerToken, HashedToken, PlatformToken, User

LAST_USED_RESOLUTION = timedelta(minutes=1)


def find_token(model: type[HashedToken], raw: str, owner: str | None = None) -> HashedToken | None:
    """The live token of this raw value, with its `owner` (a foreign key) loaded along; None if there is none.

    Every API call runs this. The query is built by hand once per model: the ORM spends seven times
    longer building it than the database takes to answer it (0.7 ms against 0.1, bench/revoke.py).
    """
    connection = connections[DEFAULT_DB_ALIAS]
    sql, token_row, owner_row = _lookup(model, owner, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model.digest_of(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    token = token_row.instance(connection, row)
    if owner_row is not None:
        setattr(token, owner, owner_row.instance(connection, row))
    return token


@dataclass(frozen=True)
class _Row:
    """Where a model's columns sit in the lookup's row, and how the ORM converts each value."""

    model: type[Model]
    start: int
    attnames: list[str]
    converters: list[tuple[Col, list[Callable]]]

    @classmethod
    def of(cls, model: type[Model], start: int, connection: BaseDatabaseWrapper) -> "_Row":
        fields = model._meta.concrete_fields
        converters = [
            (field.cached_col, connection.ops.get_db_converters(field.cached_col) + field.get_db_converters(connection))
            for field in fields
        ]
        return cls(model, start, [field.attname for field in fields], converters)

    def instance(self, connection: BaseDatabaseWrapper, row: tuple) -> Model:
        values = []
        for value, (column, converters) in zip(row[self.start :], self.converters, strict=False):
            for converter in converters:
                value = converter(value, column, connection)
            values.append(value)
        return self.model.from_db(connection.alias, self.attnames, values)


@functools.cache
def _lookup(model: type[HashedToken], owner: str | None, vendor: str) -> tuple[str, _Row, _Row | None]:
    """The lookup's SQL and how to read its row, once per model and database vendor."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    token_row, owner_row = _Row.of(model, 0, connection), None
    columns = [f"t.{quote(field.column)}" for field in model._meta.concrete_fields]
    join = ""
    if owner is not None:
        key = model._meta.get_field(owner)
        owner_row = _Row.of(key.related_model, len(columns), connection)
        columns += [f"o.{quote(field.column)}" for field in key.related_model._meta.concrete_fields]
        owner_pk = quote(key.related_model._meta.pk.column)
        join = f" JOIN {quote(key.related_model._meta.db_table)} o ON o.{owner_pk} = t.{quote(key.column)}"
    # Only names from the models' metadata, quoted; the digest is a parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(model._meta.db_table)} t{join}"  # noqa: S608
        f" WHERE t.{quote('digest')} = %s AND t.{quote('revoked_at')} IS NULL"
    )
    return sql, token_row, owner_row


class HashedTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <token>` checked against the digests of `model`."""

    keyword: str
    model: type[HashedToken]
    owner: str | None = None  # the token's foreign key that `principal` checks, loaded with the token

    def authenticate(self, request: Request) -> tuple[User | AnonymousUser, HashedToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be '%(keyword)s <token>'.") % {"keyword": self.keyword}
            )
        token = find_token(self.model, header[1].decode(errors="replace"), self.owner)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        now = timezone.now()
        # "Last used" to the minute: a write on every call would cost busy reporters more than the read.
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            self.model.objects.filter(pk=token.pk).update(last_used_at=now)
        return self.principal(token), token

    def principal(self, token: HashedToken) -> User | AnonymousUser:
        return AnonymousUser()

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class CustomerTokenAuthentication(HashedTokenAuthentication):
    keyword = "Token"
    model = CustomerToken
    owner = "user"

    def principal(self, token: CustomerToken) -> User:
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This user is inactive."))
        return token.user


class PlatformTokenAuthentication(HashedTokenAuthentication):
    keyword = "Bearer"
    model = PlatformToken


class IsPlatform(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, PlatformToken)


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = CustomerTokenAuthentication
    name = "customerToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _("`Token <key>`; create keys on your API tokens page."),
        }


class PlatformTokenScheme(OpenApiAuthenticationExtension):
    """Describes the platform's bearer token in the OpenAPI schema."""

    target_class = PlatformTokenAuthentication
    name = "platformToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer"}
