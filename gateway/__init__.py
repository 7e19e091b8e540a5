"""The port-25 gateway: docs/egress-http-api.md served over the node's nftables (docs/gateway.md).

Deployed apart from the portal, one per enforcement node. It imports nft_ruleset (the ruleset the
portal's `nftables` backend writes too) and nothing else of the project: no Django, no portal
database or settings. Its configuration is its environment (gateway/config.py).
"""
