"""What egress tells the apps above it without knowing them."""

from django.dispatch import Signal

# Sent by egress.services.set_desired_state once it has recorded a decision, inside its transaction:
# `decision` (the EgressDecision). However the decision came (an approval, staff, a reinstatement).
decided = Signal()
# Sent after each collection: `event_ids`, the over-rate events it stored (TrafficEvent keys; maybe none).
traffic_observed = Signal()
