"""Property-based tests (hypothesis) of the validators and the guard against internal addresses."""

import ipaddress

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from accounts.hostnames import normalise_hostname
from requests_app.field_validators import validate_public_url
from requests_app.use_case_rules import CONDITIONAL_FIELDS, REQUIRED, apply_use_case_rules, asked_fields
from verification.public_address import ip_literal, is_public_ip

INTERNAL_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=60)


@st.composite
def internal_ipv4(draw) -> ipaddress.IPv4Address:
    network = draw(st.sampled_from(INTERNAL_V4))
    return network[draw(st.integers(0, network.num_addresses - 1))]


@given(internal_ipv4())
def test_internal_ipv4_is_refused_in_every_spelling(ip):
    assert not is_public_ip(ip)
    for spelling in (str(ip), str(int(ip)), hex(int(ip)), f"[::ffff:{ip}]", f"::ffff:{ip}"):
        literal = ip_literal(spelling)
        assert literal is not None, spelling
        assert not is_public_ip(literal), spelling


@given(st.ip_addresses(v=4))
def test_every_ipv4_literal_reads_back(ip):
    assert ip_literal(str(ip)) == ip
    assert ip_literal(str(int(ip))) == ip


@given(internal_ipv4(), st.integers(0, 2**80 - 1))
def test_ipv6_embedding_an_internal_ipv4_is_refused(ip, noise):
    v4 = int(ip)
    embeddings = [
        (0xFFFF << 32) | v4,  # IPv4-mapped
        (0x2002 << 112) | (v4 << 80) | (noise & (2**80 - 1)),  # 6to4
        (0x64FF9B << 96) | v4,  # NAT64
        v4,  # IPv4-compatible
        (0x20010000 << 96) | (noise & (0xFFFFFFFF << 32)) | (v4 ^ 0xFFFFFFFF),  # Teredo (client inverted)
    ]
    for value in embeddings:
        assert not is_public_ip(ipaddress.IPv6Address(value)), ipaddress.IPv6Address(value)


@given(st.ip_addresses())
def test_public_means_globally_routable_unicast(ip):
    if is_public_ip(ip):
        assert ip.is_global and not ip.is_multicast and not ip.is_unspecified


@given(st.text(max_size=300))
def test_host_names_normalise_or_fail_cleanly(text):
    try:
        name = normalise_hostname(text)
    except ValidationError:
        return
    assert name.isascii() and name == name.lower() and len(name) <= 253
    assert all(0 < len(label) <= 63 for label in name.split("."))
    assert normalise_hostname(name) == name


@given(domains())
def test_public_looking_domains_are_accepted(domain):
    assume(not any(domain.endswith(s) for s in (".local", ".test", ".example", ".invalid", ".localhost")))
    assume(domain.rsplit(".", 1)[-1] not in ("corp", "lan", "home", "internal", "intranet", "onion", "localdomain"))
    assert normalise_hostname(domain.upper()) == domain.lower()


@pytest.mark.django_db
@fixture_ok
@given(st.text(max_size=200) | st.from_regex(r"\Ahttps?://[a-z0-9.\[\]:@%-]{0,40}/?\Z"))
def test_url_validation_never_fails_with_anything_but_a_message(text):
    try:
        validate_public_url(text)
    except ValidationError as exc:
        assert exc.messages and all(m.strip() for m in exc.messages)


@given(
    st.sampled_from(["personal", "transactional", "marketing", "forwarding", "other", "bogus"]),
    st.integers(min_value=0, max_value=10**7),
    st.fixed_dictionaries({f: st.sampled_from(["", "  ", "value"]) for f in CONDITIONAL_FIELDS}),
)
def test_use_case_rules_keep_only_what_is_asked_and_require_what_is_required(use_case, volume, given_answers):
    data = {"use_case": use_case, "daily_volume": volume, "mail_software": "postfix", **given_answers}
    errors = apply_use_case_rules(data)
    asked = asked_fields(use_case, volume)
    for field in CONDITIONAL_FIELDS:
        if field not in asked:
            assert data[field] == "" and field not in errors
        elif asked[field] == REQUIRED:
            assert (field in errors) == (not given_answers[field].strip())
        else:
            assert field not in errors
