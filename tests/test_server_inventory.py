"""The inventory of servers and addresses keeps its history: abuse reports refer to the past."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ServerAddress
from accounts.selectors import active_addresses
from accounts.services import ServerOwnedElsewhere, delete_server, record_server
from tests.conftest import CUSTOMER_IPS


def test_recording_again_replaces_addresses_and_keeps_released_ones(account):
    server = record_server(account, "vm-acme-1", "vm.example.com", ["198.51.100.7", "198.51.100.9"])
    assert sorted(active_addresses(account)) == ["198.51.100.7", "198.51.100.9"]
    released = ServerAddress.objects.get(ip="2001:db8::7")
    assert released.released_at is not None
    assert released.server == server


def test_address_moving_to_another_account_is_released_from_the_first(account, other_customer):
    other = other_customer.membership.account
    record_server(other, "vm-globex-2", "vm2.example.com", [CUSTOMER_IPS[0]])
    assert CUSTOMER_IPS[0] not in active_addresses(account)
    assert CUSTOMER_IPS[0] in active_addresses(other)
    assert ServerAddress.objects.filter(ip=CUSTOMER_IPS[0]).count() == 2


def test_inventory_as_it_stood_at_a_past_moment(account, other_customer):
    before_move = timezone.now()
    record_server(other_customer.membership.account, "vm-globex-2", "vm2.example.com", [CUSTOMER_IPS[0]])
    then = ServerAddress.objects.held_at(before_move).get(ip=CUSTOMER_IPS[0])
    now = ServerAddress.objects.held_at(timezone.now() + timedelta(seconds=1)).get(ip=CUSTOMER_IPS[0])
    assert then.server.account == account
    assert now.server.account == other_customer.membership.account


def test_deleting_a_server_releases_its_addresses(account):
    server = account.servers.get()
    delete_server(server)
    assert active_addresses(account) == []
    assert server.addresses.filter(released_at__isnull=False).count() == len(CUSTOMER_IPS)


def test_a_server_id_of_another_account_is_refused(account, other_customer):
    with pytest.raises(ServerOwnedElsewhere):
        record_server(other_customer.membership.account, "vm-acme-1", "x.example.com", ["198.51.100.99"])
    assert sorted(active_addresses(account)) == sorted(CUSTOMER_IPS)
