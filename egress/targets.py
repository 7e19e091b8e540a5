"""The enforcement targets named in settings (PORTAL_EGRESS_TARGETS), each with its backend."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from egress.adapters import Adapter
from egress.adapters.http import HttpAdapter
from egress.adapters.nftables import NftablesAdapter
from egress.adapters.simulated import SimulatedAdapter

BACKENDS = {"simulated": SimulatedAdapter, "nftables": NftablesAdapter, "http": HttpAdapter}


def target_names() -> list[str]:
    return list(settings.PORTAL_EGRESS_TARGETS)


def adapter_for(name: str) -> Adapter:
    """Build the target's adapter from its settings (cheap: settings may change under tests)."""
    try:
        options = dict(settings.PORTAL_EGRESS_TARGETS[name])
    except KeyError:
        raise ImproperlyConfigured(
            _("No egress target named %(name)r in PORTAL_EGRESS_TARGETS.") % {"name": name}
        ) from None
    backend = options.pop("backend", "simulated")
    if backend not in BACKENDS:
        raise ImproperlyConfigured(
            _("Egress target %(name)r: unknown backend %(backend)r (one of: %(known)s).")
            % {"name": name, "backend": backend, "known": ", ".join(BACKENDS)}
        )
    try:
        return BACKENDS[backend](name=name, **options)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(_("Egress target %(name)r: %(error)s") % {"name": name, "error": exc}) from exc
