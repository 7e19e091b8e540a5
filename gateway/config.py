"""The gateway's configuration, from its environment (GATEWAY_*; docs/gateway.md lists them)."""

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nft_ruleset import Ruleset

_MIN_TOKEN = 16


class ConfigError(ValueError):
    """The environment does not describe a gateway that may start."""


@dataclass(frozen=True)
class Config:
    token: str
    host: str
    port: int
    tls_cert: str
    tls_key: str
    state_dir: Path
    path: str  # where the API lives, e.g. /v1/port25
    ruleset: Ruleset
    nft: str
    nft_timeout: float
    max_body_bytes: int
    max_addresses: int
    key_hours: float  # how long an Idempotency-Key is remembered

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)


def from_environment(env: Mapping[str, str] = os.environ) -> Config:
    def number(name: str, default: float, kind: type = int) -> float:
        raw = env.get(name, "")
        try:
            value = kind(raw) if raw else default
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {raw!r}.") from None
        if value <= 0:
            raise ConfigError(f"{name} must be positive.")
        return value

    token = env.get("GATEWAY_TOKEN", "")
    if token_file := env.get("GATEWAY_TOKEN_FILE", ""):
        token = Path(token_file).read_text().strip()
    if len(token) < _MIN_TOKEN:
        raise ConfigError(f"GATEWAY_TOKEN (or GATEWAY_TOKEN_FILE) must be a secret of {_MIN_TOKEN}+ characters.")
    host = env.get("GATEWAY_HOST", "127.0.0.1")
    cert, key = env.get("GATEWAY_TLS_CERT", ""), env.get("GATEWAY_TLS_KEY", "")
    if bool(cert) != bool(key):
        raise ConfigError("GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together.")
    if not cert and not _loopback(host):
        raise ConfigError(f"Plain HTTP only on loopback: set GATEWAY_TLS_CERT and GATEWAY_TLS_KEY to listen on {host}.")
    path = "/" + env.get("GATEWAY_PATH", "/v1/port25").strip("/")
    try:
        ruleset = Ruleset(
            table=env.get("GATEWAY_TABLE", "port25"),
            chain=env.get("GATEWAY_CHAIN", "egress"),
            hook=env.get("GATEWAY_HOOK", "forward"),
            priority=int(env.get("GATEWAY_PRIORITY", "0")),
            set_size=number("GATEWAY_SET_SIZE", 262_144),
            burst_per_minute=number("GATEWAY_BURST_PER_MINUTE", 60),
            over_rate_hold=number("GATEWAY_OVER_RATE_HOLD", 600),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return Config(
        token=token,
        host=host,
        port=int(number("GATEWAY_PORT", 8025)),
        tls_cert=cert,
        tls_key=key,
        state_dir=Path(env.get("GATEWAY_STATE_DIR", "/var/lib/port25-gateway")),
        path="" if path == "/" else path,
        ruleset=ruleset,
        nft=env.get("GATEWAY_NFT", "nft"),
        nft_timeout=number("GATEWAY_NFT_TIMEOUT", 60.0, float),
        max_body_bytes=int(number("GATEWAY_MAX_BODY_BYTES", 32 * 1024 * 1024)),
        max_addresses=int(number("GATEWAY_MAX_ADDRESSES", 2 * ruleset.set_size)),
        key_hours=number("GATEWAY_KEY_HOURS", 24.0, float),
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
