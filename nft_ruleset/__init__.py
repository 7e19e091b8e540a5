"""The port-25 nftables ruleset, written and read in one place, for every program that enforces it.

The portal's `nftables` egress backend and the gateway service (gateway/) both import this package;
it imports neither, nor Django: `Ruleset` writes the `nft -f` batch of a change, `listing` parses
`nft -j list set` output, and `NftTable` runs nft for a table and raises `NftError` with what failed.
"""

from nft_ruleset.ruleset import Ruleset
from nft_ruleset.table import NftError, NftTable, TableCounts

__all__ = ["NftError", "NftTable", "Ruleset", "TableCounts"]
