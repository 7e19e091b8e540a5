"""What the `nftables` backend says when nft cannot list its sets: an EgressError naming why.

nft here is a stand-in executable (no root, no namespace needed): the adapter only runs it.
"""

import stat
from pathlib import Path

import pytest

from egress.adapters import EgressError
from egress.adapters.nftables import NftablesAdapter


def stand_in(tmp_path: Path, script: str) -> str:
    path = tmp_path / "nft"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_missing_nft_is_said_plainly(tmp_path):
    adapter = NftablesAdapter(name="gw", nft=str(tmp_path / "no-such-nft"))

    with pytest.raises(EgressError, match="nft could not be run"):
        adapter.counters()


def test_an_nft_error_is_passed_on(tmp_path):
    adapter = NftablesAdapter(name="gw", nft=stand_in(tmp_path, 'echo "Error: Operation not permitted" >&2; exit 1'))

    with pytest.raises(EgressError, match="nft failed: Error: Operation not permitted"):
        adapter.allowed()


def test_an_nft_that_does_not_answer_is_given_up_on_after_the_timeout(tmp_path):
    adapter = NftablesAdapter(name="gw", nft=stand_in(tmp_path, "exec sleep 30"), timeout=0.2)

    with pytest.raises(EgressError, match=r"did not answer within 0\.2 seconds"):
        adapter.counters()


def test_sets_that_do_not_exist_yet_read_as_empty(tmp_path):
    missing = 'echo "Error: No such file or directory; did you mean table port25 in family inet?" >&2; exit 1'
    adapter = NftablesAdapter(name="gw", nft=stand_in(tmp_path, missing))

    counters = adapter.counters()

    assert (counters.connections, counters.blocked, counters.over_rate) == ({}, {}, frozenset())
    assert adapter.allowed() == set()


def test_every_set_is_listed_and_their_counts_added_up(tmp_path):
    """Each set (8 shards of counters per family, the tried and over-rate sets) is listed by an nft
    of its own; this stand-in answers every listing with the same element."""
    element = '{"elem": {"val": "192.0.2.1", "counter": {"packets": 2}}}'
    listing = f'{{"nftables": [{{"set": {{"elem": [{element}]}}}}]}}'
    adapter = NftablesAdapter(name="gw", nft=stand_in(tmp_path, f"echo '{listing}'"))

    counters = adapter.counters()

    assert counters.connections == {"192.0.2.1": 2 * 16}
    assert counters.blocked == {"192.0.2.1": 2 * 2}
    assert counters.over_rate == frozenset({"192.0.2.1"})
