"""The sender/recipient pairs the relay probe tries: the 16 forms of nmap's smtp-open-relay, our own spelling.

Old and misconfigured servers fall for routing tricks (the %-hack, bang paths, source
routes, quoted local parts) that a plain `user@elsewhere` does not show, so each form is
tried with the probe's foreign domain, the server's own name and its IP literal.
"""

LOCAL_PART = "relay-test"
SENDER_LOCAL_PART = "probe"


def address_literal(ip: str) -> str:
    """`[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 section 4.1.3)."""
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


def relay_attempts(ip: str, server_name: str, external: str) -> list[tuple[str, str]]:
    """(sender, recipient) pairs in nmap's order: the plain attempts first, then the address tricks."""
    literal = address_literal(ip)
    name = server_name or literal
    to, frm = LOCAL_PART, SENDER_LOCAL_PART
    victim = f"{to}@{external}"
    local = f"{frm}@{literal}"
    return [
        ("", victim),
        (f"{frm}@{external}", victim),
        (f"{frm}@{name}", victim),
        (local, victim),
        (local, f"{to}%{external}@{literal}"),
        (local, f"{to}%{external}@{name}"),
        (local, f'"{to}@{external}"'),
        (local, f'"{to}%{external}"'),
        (local, f"{to}@{external}@{literal}"),
        (local, f'"{to}@{external}"@{literal}'),
        (local, f"{to}@{external}@{name}"),
        (local, f"@{literal}:{to}@{external}"),
        (local, f"@{name}:{to}@{external}"),
        (local, f"{external}!{to}"),
        (local, f"{external}!{to}@{literal}"),
        (local, f"{external}!{to}@{name}"),
    ]
