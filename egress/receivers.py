"""The egress app follows the account inventory (accounts.signals.inventory_changed)."""

from egress.services import follow_inventory


def on_inventory_changed(sender, *, account_ids: list[int], addresses: list[str], **kwargs) -> None:
    follow_inventory(account_ids, addresses)
