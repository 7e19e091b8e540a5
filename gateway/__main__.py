"""`python -m gateway`: serve the gateway with uvicorn, as its environment says (gateway/config.py)."""

import logging
import sys

import uvicorn

from gateway.app import build_app
from gateway.config import ConfigError, from_environment
from gateway.service import Gateway


def main() -> int:
    try:
        config = from_environment()
    except (ConfigError, OSError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    gateway = Gateway(config)
    try:
        gateway.allowed()  # nft works and the metrics know the sets' sizes before the first request
    except Exception as exc:  # said, and the gateway starts: the portal's first apply creates the table
        logging.getLogger("gateway").warning("gateway: cannot list the allow sets yet: %s", exc)
    uvicorn.run(
        build_app(gateway),
        host=config.host,
        port=config.port,
        ssl_certfile=config.tls_cert or None,
        ssl_keyfile=config.tls_key or None,
        workers=1,  # one process owns the key store and applies one change at a time
        limit_concurrency=64,  # beyond this, 503 at once (the portal retries) rather than a queue of listings
        proxy_headers=False,
        server_header=False,
        access_log=False,
        timeout_graceful_shutdown=10,
        log_level="info",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
