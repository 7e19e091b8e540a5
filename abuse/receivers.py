"""The abuse app follows egress decisions: port 25 opened by any path ends an open revocation."""

from abuse.revocations import close_on_reopen
from egress.models import EgressDecision


def on_egress_decision(sender, *, instance: EgressDecision, created: bool, **kwargs) -> None:
    if created:
        close_on_reopen(instance)
