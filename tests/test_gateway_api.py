"""The gateway service (gateway/) against docs/egress-http-api.md: the portal's `http` adapter drives
a real gateway, in a network namespace with nftables, over TLS with a CA the test makes, through every
endpoint and every class of answer the document names; hostile bodies; keys that outlive kill -9."""

import json
import re
import uuid

import httpx
import pytest

from egress.adapters import Change, EgressError
from egress.adapters.http import HttpAdapter
from gateway.config import ConfigError, from_environment
from tests.harnesses.gateway_lab import PORT, TOKEN, FleetLab, fleet_lab, trusting
from tests.parts import first_missing, missing, need_commands, need_root

pytestmark = missing(
    first_missing(
        need_root("build network namespaces"), need_commands(["nft", "ip", "openssl"], "Debian: nftables iproute2")
    )
)

V4, V6, OTHER = "198.51.100.7", "2001:db8::7", "198.51.100.8"
MAX_BODY, MAX_ADDRESSES = 4096, 50


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gateway-api")
    limits = {"GATEWAY_MAX_BODY_BYTES": str(MAX_BODY), "GATEWAY_MAX_ADDRESSES": str(MAX_ADDRESSES)}
    with fleet_lab(1, directory, traffic=False, **limits) as lab:
        yield lab


@pytest.fixture
def node(lab: FleetLab):
    """The gateway, running, with its table gone (each test starts from an empty firewall)."""
    (gateway,) = lab.gateways
    if gateway.process is None:
        gateway.start(lab.ca)
    gateway.nft("delete", "table", "inet", "port25")
    return gateway


def adapter(lab: FleetLab, **options) -> HttpAdapter:
    options = {"token": TOKEN, "ca_file": str(lab.ca), "timeout": 5, **options}
    return HttpAdapter(name="gw1", url=lab.gateways[0].url, **options)


def post(lab: FleetLab, body: bytes | dict, key: str | None = "k", **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", **({"Idempotency-Key": key} if key else {}), **headers}
    return httpx.post(lab.gateways[0].url + "/changes", content=content, headers=headers, verify=trusting(lab.ca))


def metric(lab: FleetLab, outcome: str) -> float:
    text = httpx.get(f"https://{lab.gateways[0].address}:{PORT}/metrics", verify=trusting(lab.ca)).text
    return float(re.search(rf'port25_gateway_changes_total{{outcome="{outcome}"}} (\S+)', text).group(1))


def test_allow_deny_and_read_back_through_the_adapter(lab, node):
    api = adapter(lab)
    api.apply(Change(key=str(uuid.uuid4()), allow=frozenset({V4, V6, OTHER})))
    assert api.allowed() == {V4, V6, OTHER}

    api.apply(Change(key=str(uuid.uuid4()), allow=frozenset({V4}), deny=frozenset({OTHER, "198.51.100.99"})))
    assert api.allowed() == {V4, V6}, "a denied address that was not there is no error"
    listed = node.nft("list", "set", "inet", "port25", "allowed_v4").stdout
    assert V4 in listed and OTHER not in listed, "the node's own nftables holds the same"
    api.apply(Change(key=str(uuid.uuid4())))  # both lists empty: a health check


def test_counters_are_read_through_the_adapter_in_the_documented_shape(lab, node):
    api = adapter(lab)
    api.apply(Change(key=str(uuid.uuid4()), allow=frozenset({V4})))
    node.nft("add", "element", "inet", "port25", "tried_v4", "{ 198.51.100.9 }")  # as the rules would
    node.nft("add", "element", "inet", "port25", "over_v6", "{ 2001:db8::7 }")

    counters = api.counters()

    assert (counters.connections, counters.blocked) == ({}, {"198.51.100.9": 0})
    assert counters.over_rate == frozenset({V6})


def test_a_wrong_token_is_a_final_401(lab, node):
    for token in ("wrong-token-of-enough-length", ""):
        with pytest.raises(EgressError, match="answered 401") as raised:
            adapter(lab, token=token).allowed()
        assert raised.value.permanent
    assert post(lab, {"allow": [V4]}, Authorization=f"Basic {TOKEN}").status_code == 401
    assert adapter(lab).allowed() == set()


def test_a_gateway_whose_certificate_the_pinned_ca_did_not_sign_is_refused(lab, node):
    with pytest.raises(EgressError, match="CERTIFICATE_VERIFY_FAILED") as raised:
        adapter(lab, ca_file=str(lab.other_ca)).apply(Change(key=str(uuid.uuid4()), allow=frozenset({V4})))
    assert not raised.value.permanent, "a 5xx-like failure: the change stays pending"
    assert adapter(lab).allowed() == set()


def test_a_gateway_that_is_down_is_a_failure_worth_retrying(lab, node):
    node.kill()
    with pytest.raises(EgressError, match="failed") as raised:
        adapter(lab).apply(Change(key=str(uuid.uuid4()), allow=frozenset({V4})))
    assert not raised.value.permanent


def test_a_change_without_an_idempotency_key_is_refused(lab, node):
    answer = post(lab, {"allow": [V4]}, key=None)
    assert (answer.status_code, answer.json()) == (400, {"error": "Idempotency-Key header is required."})
    assert post(lab, {"allow": [V4]}, key="has spaces").status_code == 400


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[]", 422, "must be an object"),
        ({"allow": V4}, 422, "allow must be a list"),
        ({"allow": [V4, "198.51.100.0/24"]}, 422, "not an address"),
        ({"allow": [V4, "fe80::1%eth0"]}, 422, "not an address"),
        ({"allow": [V4, "198.51.100.8 } ; flush ruleset"]}, 422, "not an address"),
        ({"allow": [V4, 7]}, 422, "not an address"),
        ({"allow": [V4], "deny": [V4]}, 422, "in both allow and deny"),
        ({"allow": [V4], "drop": []}, 422, "Unknown fields"),
        ({"allow": [f"198.51.100.{n}" for n in range(MAX_ADDRESSES + 1)]}, 413, "Too many addresses"),
        (b'{"allow": ["' + b"1" * MAX_BODY + b'"]}', 413, "body is over"),
    ],
)
def test_a_malformed_or_hostile_body_is_refused_whole_and_nothing_of_it_applied(lab, node, body, status, said):
    answer = post(lab, body, key=str(uuid.uuid4()))
    assert answer.status_code == status
    assert said in answer.json()["error"]
    assert adapter(lab).allowed() == set(), "not even the valid addresses of it"


def test_a_retried_key_is_answered_as_the_first_time_and_not_applied_again_even_after_kill_9(lab, node):
    key = str(uuid.uuid4())
    assert post(lab, {"allow": [V4]}, key=key).json() == {"applied": True}
    node.kill()
    node.start(lab.ca)

    again = post(lab, {"allow": [], "deny": [V4]}, key=key)  # the same key: whatever it carries is not applied

    assert (again.status_code, again.json()) == (200, {"applied": True})
    assert adapter(lab).allowed() == {V4}
    assert (metric(lab, "replayed"), metric(lab, "applied")) == (1, 0)


def test_a_timeout_is_retried_by_key_and_the_change_is_applied_once(lab, node):
    key = str(uuid.uuid4())
    with node.hold() as reached:
        with pytest.raises(EgressError, match="timed out") as raised:
            adapter(lab, timeout=1).apply(Change(key=key, allow=frozenset({V4})))
        assert not raised.value.permanent
        assert reached.exists(), "nft had committed the change when the answer was lost"
    applied = metric(lab, "applied")

    adapter(lab).apply(Change(key=key, allow=frozenset({V4})))  # as the outbox retries it

    assert metric(lab, "applied") == applied, "the retry was recognised, not applied a second time"
    assert adapter(lab).allowed() == {V4}


def test_a_key_in_doubt_after_kill_9_mid_change_is_settled_by_reading_the_sets(lab, node):
    """Killed after nft committed and before the key was marked done: the retry finds the change in
    effect and answers without applying it again."""
    key = str(uuid.uuid4())
    with node.hold() as reached:
        with pytest.raises(EgressError):
            adapter(lab, timeout=1).apply(Change(key=key, allow=frozenset({V6})))
        assert reached.exists()
        node.kill()
    node.start(lab.ca)

    adapter(lab).apply(Change(key=key, allow=frozenset({V6})))

    assert (metric(lab, "replayed"), metric(lab, "applied")) == (1, 0)
    assert adapter(lab).allowed() == {V6}


def test_an_nft_failure_is_a_5xx_worth_retrying_and_the_key_is_applied_when_nft_works_again(lab, node):
    node.nft("add", "table", "inet", "port25")
    node.nft("add", "set", "inet", "port25", "allowed_v4", "{ type ipv6_addr; }")  # in the way
    key = str(uuid.uuid4())
    with pytest.raises(EgressError, match="answered 503") as raised:
        adapter(lab).apply(Change(key=key, allow=frozenset({V4})))
    assert not raised.value.permanent

    node.nft("delete", "table", "inet", "port25")
    adapter(lab).apply(Change(key=key, allow=frozenset({V4})))
    assert adapter(lab).allowed() == {V4}


def test_health_and_metrics_are_served(lab, node):
    base = f"https://{node.address}:{PORT}"
    adapter(lab).apply(Change(key=str(uuid.uuid4()), allow=frozenset({V4, V6})))
    adapter(lab).allowed()

    assert httpx.get(f"{base}/healthz", verify=trusting(lab.ca)).json() == {"ok": True}
    text = httpx.get(f"{base}/metrics", verify=trusting(lab.ca)).text
    assert 'port25_gateway_allowed_addresses{family="ipv4"} 1.0' in text
    assert "port25_gateway_last_apply_seconds" in text
    assert metric(lab, "refused") >= 0


def test_plain_http_only_on_loopback_and_a_real_token_required():
    base = {"GATEWAY_TOKEN": "t" * 16}
    assert from_environment(base).host == "127.0.0.1"
    with pytest.raises(ConfigError, match="Plain HTTP only on loopback"):
        from_environment({**base, "GATEWAY_HOST": "0.0.0.0"})
    assert from_environment({**base, "GATEWAY_HOST": "::1"}).tls is False
    with pytest.raises(ConfigError, match="GATEWAY_TOKEN"):
        from_environment({"GATEWAY_TOKEN": "short"})
    with pytest.raises(ConfigError, match="go together"):
        from_environment({**base, "GATEWAY_TLS_CERT": "/etc/cert.pem"})


def test_the_token_may_come_from_a_file_read_at_each_call(lab, node, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("wrong-token-of-enough-length\n")
    api = adapter(lab, token="", token_file=str(secret))
    with pytest.raises(EgressError, match="answered 401"):
        api.allowed()

    secret.write_text(TOKEN + "\n")  # rotated: the next call sends the new one
    assert api.allowed() == set()


def test_a_replaced_ca_file_takes_effect_at_the_next_call(lab, node, tmp_path):
    """Connections are kept alive between calls; a CA file that changes is read again all the same."""
    pinned = tmp_path / "ca.pem"
    pinned.write_bytes(lab.other_ca.read_bytes())
    with pytest.raises(EgressError, match="CERTIFICATE_VERIFY_FAILED"):
        adapter(lab, ca_file=str(pinned)).allowed()

    pinned.write_bytes(lab.ca.read_bytes())
    assert adapter(lab, ca_file=str(pinned)).allowed() == set()
    pinned.unlink()
    with pytest.raises(EgressError, match="No such file"):
        adapter(lab, ca_file=str(pinned)).allowed()
