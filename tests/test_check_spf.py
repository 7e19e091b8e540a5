"""SPF by RFC 7208 (pyspf) through the portal's resolver, answered by the loopback DNS server.

RFC 7208 appendix A's zone is served with example.com renamed rfc.spf.test and example.org
other.spf.test (the suite's public DNS already answers for example.com).
"""

from concurrent.futures import ThreadPoolExecutor

import dns.nameserver
import pytest

from tests.loopback import free_port
from verification.checks import reverse_dns, spf
from verification.dns_resolver import make_resolver
from verification.outcome import Deadline

pytestmark = pytest.mark.usefixtures("checks_env")

RFC = "rfc.spf.test"
OTHER = "other.spf.test"
SPF_ZONE = "\n".join(
    [
        # RFC 7208 appendix A
        f"{RFC}. 60 IN MX 10 mx.{RFC}.",
        f"{RFC}. 60 IN MX 20 mx2.{RFC}.",
        f"mx.{RFC}. 60 IN A 192.0.2.129",
        f"mx2.{RFC}. 60 IN A 192.0.2.130",
        f"{RFC}. 60 IN A 192.0.2.10",
        f"{RFC}. 60 IN A 192.0.2.11",
        f"amy.{RFC}. 60 IN A 192.0.2.65",
        f"bob.{RFC}. 60 IN A 192.0.2.66",
        f"mail-a.{RFC}. 60 IN A 192.0.2.129",
        f"mail-b.{RFC}. 60 IN A 192.0.2.130",
        f"{OTHER}. 60 IN MX 10 mail-c.{OTHER}.",
        f"mail-c.{OTHER}. 60 IN A 192.0.2.140",
        f"10.2.0.192.in-addr.arpa. 60 IN PTR {RFC}.",
        f"11.2.0.192.in-addr.arpa. 60 IN PTR {RFC}.",
        f"65.2.0.192.in-addr.arpa. 60 IN PTR amy.{RFC}.",
        f"66.2.0.192.in-addr.arpa. 60 IN PTR bob.{RFC}.",
        f"129.2.0.192.in-addr.arpa. 60 IN PTR mail-a.{RFC}.",
        f"130.2.0.192.in-addr.arpa. 60 IN PTR mail-b.{RFC}.",
        f"140.2.0.192.in-addr.arpa. 60 IN PTR mail-c.{OTHER}.",
        # A.4: exists with macros, for the sender postmaster@ and 192.0.2.1
        f"1.2.0.192.postmaster._spf.{RFC}. 60 IN A 127.0.0.2",
        # Our cases, one domain each
        'macro.spf.test. 60 IN TXT "v=spf1 exists:%{i}._spf.macro.spf.test -all"',
        "192.0.2.3._spf.macro.spf.test. 60 IN A 127.0.0.2",
        'include.spf.test. 60 IN TXT "v=spf1 include:inner.spf.test ~all"',
        'inner.spf.test. 60 IN TXT "v=spf1 ip4:192.0.2.20 -all"',
        'include-none.spf.test. 60 IN TXT "v=spf1 include:nothing.spf.test -all"',
        "nothing.spf.test. 60 IN A 192.0.2.99",
        'redirect.spf.test. 60 IN TXT "v=spf1 redirect=inner.spf.test"',
        'loop.spf.test. 60 IN TXT "v=spf1 include:loop2.spf.test -all"',
        'loop2.spf.test. 60 IN TXT "v=spf1 include:loop.spf.test -all"',
        'redirect-loop.spf.test. 60 IN TXT "v=spf1 redirect=redirect-loop.spf.test"',
        'two.spf.test. 60 IN TXT "v=spf1 ip4:192.0.2.20 -all"',
        'two.spf.test. 60 IN TXT "v=spf1 ip4:192.0.2.21 -all"',
        'flat11.spf.test. 60 IN TXT "v=spf1 ' + " ".join(f"a:h{i}.spf.test" for i in range(11)) + ' -all"',
        *[f"h{i}.spf.test. 60 IN A 192.0.2.{200 + i}" for i in range(11)],
        'flat10.spf.test. 60 IN TXT "v=spf1 ' + " ".join(f"a:h{i}.spf.test" for i in range(10)) + ' -all"',
        'void3.spf.test. 60 IN TXT "v=spf1 a:no1.spf.test a:no2.spf.test a:no3.spf.test ip4:192.0.2.20 -all"',
        'void2.spf.test. 60 IN TXT "v=spf1 a:no1.spf.test a:no2.spf.test ip4:192.0.2.20 -all"',
        'soft.spf.test. 60 IN TXT "v=spf1 ~all"',
        'neutral.spf.test. 60 IN TXT "v=spf1 ?all"',
        'noall.spf.test. 60 IN TXT "v=spf1 ip4:192.0.2.20"',
        'ptr.spf.test. 60 IN TXT "v=spf1 ptr:rfc.spf.test -all"',
        'unknown.spf.test. 60 IN TXT "v=spf1 ip4:192.0.2.20 frobnicate -all"',
        "none.spf.test. 60 IN A 192.0.2.20",
        'slow.spf.test. 60 IN TXT "v=spf1 include:x.dropped.spf.test -all"',
    ]
)


@pytest.fixture(scope="module", autouse=True)
def spf_zone(check_zone):
    check_zone.resolver.add(SPF_ZONE)
    check_zone.resolver.dropped.add("dropped.spf.test.")


def evaluate(domain: str, ip: str, record: str | None = None) -> spf.SpfEvaluation:
    return spf.evaluate(reverse_dns.resolver_for(Deadline(5)), ip, domain, seconds=5, record=record)


@pytest.mark.parametrize(
    ("record", "ip", "result"),
    [
        ("v=spf1 +all", "192.0.2.200", "pass"),
        ("v=spf1 a -all", "192.0.2.10", "pass"),
        ("v=spf1 a -all", "192.0.2.11", "pass"),
        ("v=spf1 a -all", "192.0.2.12", "fail"),
        (f"v=spf1 a:{OTHER} -all", "192.0.2.140", "fail"),  # other has no A record
        ("v=spf1 mx -all", "192.0.2.129", "pass"),
        ("v=spf1 mx -all", "192.0.2.130", "pass"),
        ("v=spf1 mx -all", "192.0.2.140", "fail"),
        (f"v=spf1 mx:{OTHER} -all", "192.0.2.140", "pass"),
        (f"v=spf1 mx mx:{OTHER} -all", "192.0.2.129", "pass"),
        (f"v=spf1 mx mx:{OTHER} -all", "192.0.2.140", "pass"),
        (f"v=spf1 mx/30 mx:{OTHER}/30 -all", "192.0.2.131", "pass"),
        (f"v=spf1 mx/30 mx:{OTHER}/30 -all", "192.0.2.141", "pass"),
        (f"v=spf1 mx/30 mx:{OTHER}/30 -all", "192.0.2.135", "fail"),
        ("v=spf1 ptr -all", "192.0.2.10", "pass"),
        ("v=spf1 ptr -all", "192.0.2.65", "pass"),
        ("v=spf1 ptr -all", "192.0.2.140", "fail"),  # its name is under other.spf.test
        ("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.143", "pass"),
        ("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.144", "fail"),
        ("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", "192.0.2.1", "pass"),  # A.4
        ("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", "192.0.2.2", "fail"),
    ],
)
def test_rfc_7208_appendix_a_examples(record, ip, result):
    assert evaluate(RFC, ip, record).result == result


@pytest.mark.parametrize(
    ("domain", "ip", "result", "lookups"),
    [
        ("macro.spf.test", "192.0.2.3", "pass", 1),  # exists:%{i}._spf... expands the client's address
        ("macro.spf.test", "192.0.2.4", "fail", 1),
        ("include.spf.test", "192.0.2.20", "pass", 1),
        ("include.spf.test", "192.0.2.21", "softfail", 1),  # the include did not match: ~all decides
        ("redirect.spf.test", "192.0.2.20", "pass", 1),
        ("redirect.spf.test", "192.0.2.21", "fail", 1),
        ("ptr.spf.test", "192.0.2.66", "pass", 1),
        ("soft.spf.test", "192.0.2.20", "softfail", 0),
        ("neutral.spf.test", "192.0.2.20", "neutral", 0),
        ("noall.spf.test", "192.0.2.21", "neutral", 0),  # no match and no all: neutral (section 4.7)
        ("none.spf.test", "192.0.2.20", "none", 0),
        ("flat10.spf.test", "192.0.2.209", "pass", 10),  # exactly 10 DNS terms is allowed
        ("void2.spf.test", "192.0.2.20", "pass", 2),  # two void look-ups are allowed
    ],
)
def test_results_and_lookups(domain, ip, result, lookups):
    evaluation = evaluate(domain, ip)
    assert (evaluation.result, evaluation.lookups) == (result, lookups)
    if result != "none":
        assert evaluation.record.startswith("v=spf1")


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("flat11.spf.test", "more than 10 terms that query DNS"),
        ("spf-many.example.org", "more than 10 terms that query DNS"),  # a chain of 12 includes
        # RFC 7208 has no loop result: the 10-term limit ends a loop (section 4.6.4), and pyspf says so
        ("loop.spf.test", "more than 10 terms that query DNS"),
        ("redirect-loop.spf.test", "more than 10 terms that query DNS"),
        ("void3.spf.test", "more than 2 of its DNS look-ups found nothing"),
        ("two.spf.test", "more than one SPF record"),
        ("include-none.spf.test", "an included domain has no SPF record"),
        ("unknown.spf.test", "mechanism SPF does not know"),
    ],
)
def test_permanent_errors_follow_the_rfc(domain, words):
    evaluation = evaluate(domain, "192.0.2.20")
    assert evaluation.result == "permerror", evaluation
    assert words in evaluation.notes[-1]


def test_a_lookup_the_resolver_cannot_answer_is_a_temperror():
    evaluation = evaluate("slow.spf.test", "192.0.2.20")
    assert evaluation.result == "temperror"
    assert evaluation.record == "v=spf1 include:x.dropped.spf.test -all"


def test_evaluations_in_threads_each_use_their_own_resolver(settings, loopback_dns):
    """Checks run concurrently: one thread's resolver (here one that never answers) must not leak into another."""
    settings.PORTAL_DNS_TIMEOUT = 0.3
    dead = make_resolver()
    dead.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", free_port())]
    live = make_resolver()

    def run(resolver):
        return spf.evaluate(resolver, "192.0.2.20", "include.spf.test", seconds=2).result

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, [dead, live] * 8))
    assert results == ["temperror", "pass"] * 8
