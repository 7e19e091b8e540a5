"""The abuse app follows egress: port 25 opened by any path ends an open revocation; a burst
seen on port 25 is weighed by the traffic policy."""

from abuse.revocations import close_on_reopen
from abuse.tasks import weigh_traffic
from egress.models import EgressDecision


def on_egress_decision(sender, *, decision: EgressDecision, **kwargs) -> None:
    close_on_reopen(decision)


def on_traffic_observed(sender, *, event_ids: list[int], **kwargs) -> None:
    weigh_traffic.delay(event_ids)
