"""What egress tells the apps above it without knowing them."""

from django.dispatch import Signal

# Sent after a collection stored over-rate events: `event_ids` (TrafficEvent primary keys).
traffic_observed = Signal()
