"""A real DNS server on loopback (dnslib) answering from a small in-memory zone."""

import time
from collections import defaultdict

from dnslib import QTYPE, RCODE, RR, DNSError, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneResolver(BaseResolver):
    """Authoritative answers from records; unknown names are NXDOMAIN, known names without the type NOERROR.

    Names under a suffix in `refused` answer REFUSED, and under one in `dropped` get no answer at all
    (the client times out): how a blocklist that turned a resolver away behaves. `latency` (seconds)
    delays every answer, as a resolver across a network would (the benchmark uses it).
    """

    def __init__(self) -> None:
        self.records: dict[str, list[RR]] = defaultdict(list)
        self.refused: set[str] = set()
        self.dropped: set[str] = set()
        self.latency = 0.0

    def add(self, zone_text: str) -> None:
        for rr in RR.fromZone(zone_text):
            self.records[str(rr.rname).lower()].append(rr)

    def clear(self) -> None:
        self.records.clear()

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname).lower()
        qtype = QTYPE[request.q.qtype]
        if self.latency:
            time.sleep(self.latency)
        if any(qname.endswith(suffix) for suffix in self.dropped):
            raise DNSError(f"dropped query for {qname}")
        if any(qname.endswith(suffix) for suffix in self.refused):
            reply.header.rcode = RCODE.REFUSED
            return reply
        if qname not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rr in self.records[qname]:
            if qtype in ("ANY", QTYPE[rr.rtype]):
                reply.add_answer(rr)
        return reply


class LoopbackDNS:
    """Start with `start()`; answers on 127.0.0.1 at `.port` over UDP and TCP until `stop()`."""

    def __init__(self) -> None:
        self.resolver = ZoneResolver()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        # UDP picks a free port; TCP may find that number taken by another program: pick again.
        for _attempt in range(20):
            self.udp = DNSServer(self.resolver, address="127.0.0.1", port=0, logger=quiet)
            self.port = self.udp.server.server_address[1]
            try:
                self.tcp = DNSServer(self.resolver, address="127.0.0.1", port=self.port, tcp=True, logger=quiet)
            except OSError:
                self.udp.server.server_close()
                continue
            return
        raise OSError("no port free for both UDP and TCP on 127.0.0.1")

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "LoopbackDNS":
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self) -> None:
        self.udp.stop()
        self.tcp.stop()
        self.udp.server.server_close()
        self.tcp.server.server_close()
