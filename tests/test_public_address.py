"""The SSRF guard: names and literals for every refused range, through a real DNS server."""

import ipaddress

import pytest

from verification.public_address import (
    NonPublicAddress,
    ResolverUnavailable,
    UnresolvableHost,
    ip_literal,
    is_public_ip,
    public_addresses,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public_ip(ipaddress.ip_address(address))


def test_mapped_form_of_a_public_address_is_refused_too():
    """Nobody names a mail server as ::ffff:a.b.c.d; refusing it leaves no spelling to slip through."""
    assert not is_public_ip(ipaddress.ip_address("::ffff:93.184.215.14"))


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_legacy_and_bracketed_literals_are_read_as_addresses(spelling, address):
    assert ip_literal(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("name", ["example.com", "1.example.com", "0x7f.example.com"])
def test_names_are_not_literals(name):
    assert ip_literal(name) is None


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("private.example.com", "10.1.2.3"),
        ("loopback.example.com", "127.0.0.1"),
        ("cgnat.example.com", "100.64.1.1"),
        ("mapped.example.com", "::ffff:10.0.0.1"),
        ("mixed.example.com", "192.168.1.1"),
    ],
)
def test_hosts_resolving_inside_are_refused_with_the_address(host, refused):
    with pytest.raises(NonPublicAddress) as exc_info:
        public_addresses(host)
    assert exc_info.value.address == ipaddress.ip_address(refused)


def test_public_name_returns_all_its_addresses():
    assert set(public_addresses("example.com")) == {
        ipaddress.ip_address("93.184.215.14"),
        ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
    }


def test_unknown_name_is_unresolvable():
    with pytest.raises(UnresolvableHost):
        public_addresses("no-such-host.example.com")


def test_name_without_addresses_is_unresolvable():
    with pytest.raises(UnresolvableHost):
        public_addresses("noaddress.example.com")


def test_allow_list_admits_a_private_range(settings):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = ["10.1.2.0/24"]
    assert public_addresses("private.example.com") == [ipaddress.ip_address("10.1.2.3")]
    with pytest.raises(NonPublicAddress):
        public_addresses("loopback.example.com")


def test_silent_resolver_is_reported_as_unavailable(settings):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # bound, never answers
        settings.PORTAL_DNS_NAMESERVERS = [f"127.0.0.1:{silent.getsockname()[1]}"]
        settings.PORTAL_DNS_TIMEOUT = 0.3
        with pytest.raises(ResolverUnavailable):
            public_addresses("example.com")
