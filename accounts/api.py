"""The platform's API: it reports servers and their public addresses as they come and go, and the
verifications (identity, payment) its own checks completed for an account."""

import ipaddress
import uuid

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.hostnames import normalise_hostname
from accounts.models import Account, Server
from accounts.public_ip import is_public_ip
from accounts.services import ServerOwnedElsewhere, delete_server, record_server
from accounts.token_auth import IsPlatform, PlatformTokenAuthentication
from common.single_line import SingleLineSerializerMixin


class ServerSerializer(SingleLineSerializerMixin, serializers.Serializer):
    account = serializers.SlugRelatedField(
        slug_field="reference", queryset=Account.objects.all(), help_text=_("The account ID (UUID).")
    )
    hostname = serializers.CharField(max_length=253)
    addresses = serializers.ListField(
        child=serializers.IPAddressField(), max_length=64, help_text=_("Public IPv4/IPv6 addresses.")
    )

    def validate_hostname(self, value: str) -> str:
        return normalise_hostname(value)

    def validate_addresses(self, value: list[str]) -> list[str]:
        addresses = {ipaddress.ip_address(ip) for ip in value}
        refused = sorted(ip.compressed for ip in addresses if not is_public_ip(ip))
        if refused:
            raise serializers.ValidationError(
                _(
                    "Not public Internet addresses (loopback, private, link-local, documentation or reserved),"
                    " which the checks refuse: %(ips)s."
                )
                % {"ips": ", ".join(refused)}
            )
        return sorted(ip.compressed for ip in addresses)


def _server_data(server: Server) -> dict:
    return {
        "account": server.account.reference,
        "hostname": server.hostname,
        "addresses": sorted(server.addresses.active().values_list("ip", flat=True)),
    }


@extend_schema(methods=["PUT"], request=ServerSerializer, responses=ServerSerializer)
@extend_schema(methods=["GET"], responses=ServerSerializer)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "PUT", "DELETE"])
@authentication_classes([PlatformTokenAuthentication])
@permission_classes([IsPlatform])
def platform_server(request: Request, external_id: str) -> Response:
    """Create or update (PUT), read (GET) or delete (DELETE) a server by its platform ID."""
    longest = Server._meta.get_field("external_id").max_length
    if len(external_id) > longest:
        message = _("A platform ID has at most %(n)d characters.") % {"n": longest}
        return Response({"external_id": [message]}, status=status.HTTP_400_BAD_REQUEST)
    if request.method == "PUT":
        serializer = ServerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        existed = Server.objects.filter(external_id=external_id).exists()
        try:
            server = record_server(
                serializer.validated_data["account"],
                external_id,
                serializer.validated_data["hostname"],
                serializer.validated_data["addresses"],
            )
        except ServerOwnedElsewhere:
            return Response(
                {"account": [_("This server belongs to another account; delete it first.")]},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(_server_data(server), status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)
    server = get_object_or_404(Server.objects.active(), external_id=external_id)
    if request.method == "DELETE":
        delete_server(server)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(_server_data(server))


VERIFICATION_KINDS = ("identity", "payment")


@extend_schema(request=None, responses={204: None})
@api_view(["PUT"])
@authentication_classes([PlatformTokenAuthentication])
@permission_classes([IsPlatform])
def platform_verification(request: Request, reference: uuid.UUID, kind: str) -> Response:
    """Record that the account completed `identity` or `payment` verification with the provider.

    Recorded by nobody in person, so any reviewer may approve on it (requests_app.review).
    """
    if kind not in VERIFICATION_KINDS:
        message = _("The verification is one of: %(kinds)s.") % {"kinds": ", ".join(VERIFICATION_KINDS)}
        return Response({"kind": [message]}, status=status.HTTP_404_NOT_FOUND)
    get_object_or_404(Account, reference=reference).record_verification(kind, None)
    return Response(status=status.HTTP_204_NO_CONTENT)
