"""GET /metrics: the Prometheus text format, for the networks and the bearer token the operator names."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from operations.metrics import PortalCollector


def may_scrape(request: HttpRequest) -> bool:
    """From a network in PORTAL_METRICS_ALLOW_NETWORKS (not through the TLS proxy), or with
    `Authorization: Bearer <PORTAL_METRICS_TOKEN>`."""
    token = settings.PORTAL_METRICS_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    if settings.BEHIND_PROXY and "X-Forwarded-For" in request.headers:
        return False  # relayed by the proxy: from outside, whatever the proxy's own address
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.PORTAL_METRICS_ALLOW_NETWORKS)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        return HttpResponse(_("Metrics are not available to this client.\n"), status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
