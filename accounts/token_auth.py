"""API authentication with tokens stored as digests (see accounts.models.HashedToken)."""

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from accounts.models import CustomerToken, HashedToken, PlatformToken, User

LAST_USED_RESOLUTION = timedelta(minutes=1)


def find_token(model: type[HashedToken], raw: str, owner: str | None = None) -> HashedToken | None:
    """The live token of this raw value, with its `owner` (a foreign key) loaded along; None if there is none."""
    tokens = model.objects.filter(digest=model.digest_of(raw), revoked_at__isnull=True)
    if owner is not None:
        tokens = tokens.select_related(owner)
    try:
        return tokens.get()  # digests are unique
    except model.DoesNotExist:
        return None


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
