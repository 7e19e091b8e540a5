"""The gateway's own Prometheus series (served at /metrics; names under port25_gateway_)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.changes = Counter(
            "port25_gateway_changes",
            "POST /changes answered, by outcome: applied, replayed (a key seen before), refused (4xx), failed (nft).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("applied", "replayed", "refused", "failed"):
            self.changes.labels(outcome)
        self.addresses = Gauge(
            "port25_gateway_allowed_addresses",
            "Addresses in the allow set of each IP version, as last listed (GET /allowed, start-up).",
            ["family"],
            registry=self.registry,
        )
        self.apply_seconds = Histogram(
            "port25_gateway_apply_seconds",
            "Time of one nft -f transaction applying a change.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.last_apply_seconds = Gauge(
            "port25_gateway_last_apply_seconds", "Duration of the last applied change.", registry=self.registry
        )
        self.last_apply = Gauge(
            "port25_gateway_last_apply_timestamp_seconds", "When a change was last applied.", registry=self.registry
        )

    def listed(self, by_family: dict[int, set[str]]) -> None:
        for family, addresses in by_family.items():
            self.addresses.labels(f"ipv{family}").set(len(addresses))

    def applied(self, seconds: float) -> None:
        self.changes.labels("applied").inc()
        self.apply_seconds.observe(seconds)
        self.last_apply_seconds.set(seconds)
        self.last_apply.set_to_current_time()
