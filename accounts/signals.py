"""Signals of the account inventory, for apps that must follow it (the egress firewall does)."""

from django.dispatch import Signal

# Sent inside the inventory's transaction when addresses were added or released:
# `account_ids` are the accounts concerned (an address's previous holder too),
# `addresses` the IPs that were added or released. A receiver's writes commit or
# roll back with the inventory change.
inventory_changed = Signal()
