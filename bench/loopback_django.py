"""Django for a benchmark that checks servers on loopback: a throw-away SQLite, an in-memory broker."""

import os
from pathlib import Path


def setup_django(workdir: Path, nameserver: str, **extra_env: str) -> None:
    """Point the portal at `workdir` and the loopback DNS server `nameserver`, then start Django.

    Loopback is allowed as a checked network: every server the bench talks to runs there.
    """
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_SECRET_KEY": os.environ.get("PORTAL_SECRET_KEY", "bench-only-secret"),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "PORTAL_BROKER_URL": "memory://",
            "PORTAL_LOG_LEVEL": "WARNING",
            "PORTAL_DNS_NAMESERVERS": nameserver,
            "PORTAL_CHECK_ALLOW_NETWORKS": "127.0.0.0/8",
            **extra_env,
        }
    )
    import django

    django.setup()
