"""Authentication of the cloud platform's calls with a bearer token stored as a digest."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from accounts.models import PlatformToken


class PlatformTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PlatformToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode().lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        token = PlatformToken.objects.matching(header[1].decode(errors="replace")).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked platform token.")
        PlatformToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsPlatform(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, PlatformToken)


class PlatformTokenScheme(OpenApiAuthenticationExtension):
    """Describes the platform's bearer token in the OpenAPI schema."""

    target_class = PlatformTokenAuthentication
    name = "platformToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer"}
