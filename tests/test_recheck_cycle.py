"""The re-check cycle of open accounts on the loopback DNS server: listings found between two cycles,
zones set aside by their RFC 5782 test points, budgets, the compact history, and the way back.

Time is controlled (time-machine): a cycle is "the period passes, the beat's task runs".
"""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dns.reversename
import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from abuse import recheck_policy
from abuse.management.commands.seed_demo_abuse import LISTED_IP, OPEN_EMAIL
from abuse.models import AbuseEvent, EventKind
from abuse.tasks import recheck_open_addresses
from accounts.models import Account, User
from egress.models import AccountEgress, EgressSource, EgressState
from requests_app import review
from tests.conftest import CUSTOMER_IPS, make_customer
from tests.egress_support import decide, eager_tasks
from tests.harnesses.real_mtas import POSTFIX, Case, PostfixServers, postfix_missing
from tests.parts import missing
from tests.test_metrics import scrape, value
from verification import recheck
from verification.checks import dnsbl, relay_probe
from verification.checks.blocklist_zones import KNOWN_ZONES
from verification.models import FindingKind, RecheckFinding, WatchedAddress, ZoneStatus
from verification.zone_budget import Pacer

__all__ = ["decide"]  # a fixture

pytestmark = pytest.mark.usefixtures("checks_env")

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
XBL = "xbl.spamhaus.org"
V4, V6 = CUSTOMER_IPS


def egress_of(account: Account) -> AccountEgress:
    return AccountEgress.objects.get(account=account)


def listed_name(ip: str, zone: str) -> str:
    return dns.reversename.from_address(ip).to_text().rsplit(".", 3)[0] + f".{zone}."


def reverse_records(ip: str, name: str) -> str:
    kind = "AAAA" if ":" in ip else "A"
    return f"{dns.reversename.from_address(ip).to_text()} 60 IN PTR {name}.\n{name}. 60 IN {kind} {ip}"


@pytest.fixture
def zone(check_zone):
    """XBL's test points and the customer's reverse names on the loopback server; `list`/`delist` an address."""
    records = "\n".join(
        [
            f"{listed_name('127.0.0.2', XBL)} 60 IN A 127.0.0.4",
            f"{listed_name('::ffff:7f00:2', XBL)} 60 IN A 127.0.0.4",
            reverse_records(V4, "vm-acme-1.example.com"),
            reverse_records(V6, "vm-acme-1-v6.example.com"),
        ]
    )
    resolver = check_zone.resolver
    before = set(resolver.records)
    resolver.add(records)

    class Zone:
        def list(self, ip: str, code: str = "127.0.0.4", zone: str = XBL) -> None:
            resolver.add(f"{listed_name(ip, zone)} 60 IN A {code}")

        def delist(self, ip: str, zone: str = XBL) -> None:
            resolver.records.pop(listed_name(ip, zone).lower(), None)

    yield Zone()
    for name in set(resolver.records) - before:
        del resolver.records[name]


@pytest.fixture
def recheck_settings(settings, zone):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    settings.PORTAL_DNSBL_ZONES = [XBL]
    settings.PORTAL_RECHECK_RELAY = False
    settings.PORTAL_RECHECK_PERIOD_HOURS = 24
    settings.PORTAL_RECHECK_ZONE_ACTIONS = {XBL: "block", "*": "warn"}
    settings.PORTAL_RECHECK_BLOCK_HOURS = 24
    return settings


class Cycle:
    def __init__(self, clock: time_machine.Traveller, capture) -> None:
        self.clock, self.capture = clock, capture

    def turn(self, hours: float = 24.5) -> int:
        """Let `hours` pass and run the beat's task: how many findings changed."""
        self.clock.shift(timedelta(hours=hours))
        with eager_tasks(), self.capture(execute=True):
            return recheck_open_addresses.delay().get()


@contextmanager
def running_cycle(account: Account, decide, capture, **opening) -> Iterator[Cycle]:
    """The account opened on port 25 at START; its addresses join the cycle, each due within the period."""
    with time_machine.travel(START, tick=False) as clock:
        decide(account, EgressState.ALLOWED, **opening)
        cycle = Cycle(clock, capture)
        assert cycle.turn(0) == 0
        yield cycle


@pytest.fixture
def cycle(recheck_settings, account, decide, django_capture_on_commit_callbacks):
    with running_cycle(account, decide, django_capture_on_commit_callbacks) as running:
        yield running


def test_an_address_listed_between_two_cycles_is_blocked_within_one_and_the_customer_sees_why(
    cycle, zone, account, customer_client
):
    assert cycle.turn() == 0  # first cycle: both addresses clean
    assert {w.ip for w in WatchedAddress.objects.all()} == {V4, V6}
    assert egress_of(account).desired == EgressState.ALLOWED

    zone.list(V4)
    assert cycle.turn() == 1

    egress = egress_of(account)
    assert (egress.desired, egress.source) == (EgressState.BLOCKED, EgressSource.RECHECK)
    assert egress.until == timezone.now() + timedelta(hours=24)  # a listing blocks for a while
    finding = RecheckFinding.objects.current().get()
    assert (finding.ip, finding.kind, finding.source) == (V4, FindingKind.LISTED, XBL)
    assert "XBL: exploited or infected host" in finding.summary
    assert AbuseEvent.objects.filter(account=account, kind=EventKind.RECHECK_BLOCKED).count() == 1
    [sent] = mail.outbox
    assert XBL in sent.body and "https://check.spamhaus.org/" in sent.body

    page = customer_client.get("/abuse/").content.decode()
    assert V4 in page and XBL in page and 'href="https://check.spamhaus.org/"' in page


def test_a_clean_recheck_on_demand_lifts_the_block_and_is_rate_limited(
    cycle, zone, account, customer_client, django_capture_on_commit_callbacks
):
    cycle.turn()
    zone.list(V4)
    cycle.turn()
    assert egress_of(account).desired == EgressState.BLOCKED

    zone.delist(V4)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        answer = customer_client.post("/abuse/recheck/", follow=True)
    assert "being re-checked" in answer.content.decode()
    egress = egress_of(account)
    assert (egress.desired, egress.source, egress.until) == (EgressState.ALLOWED, EgressSource.RECHECK, None)
    assert RecheckFinding.objects.current().count() == 0
    assert RecheckFinding.objects.get().ended_at == timezone.now()
    assert AbuseEvent.objects.filter(account=account, kind=EventKind.RECHECK_LIFTED).count() == 1

    again = customer_client.post("/abuse/recheck/", follow=True).content.decode()
    assert "re-checked a moment ago" in again


def test_history_is_compact_a_finding_seen_again_moves_only_last_seen(cycle, zone, account, settings):
    settings.PORTAL_RECHECK_ZONE_ACTIONS = {"*": "warn"}
    cycle.turn()
    zone.list(V4)
    cycle.turn()
    first = RecheckFinding.objects.get()
    cycle.turn()
    cycle.turn()
    again = RecheckFinding.objects.get()
    assert (again.pk, again.first_seen) == (first.pk, first.first_seen)
    assert again.last_seen > first.last_seen
    zone.delist(V4)
    cycle.turn()
    zone.list(V4)
    cycle.turn()
    assert RecheckFinding.objects.count() == 2
    assert RecheckFinding.objects.current().get().pk != first.pk
    # Warned, never blocked: a lesser zone's listing tells the customer.
    assert egress_of(account).desired == EgressState.ALLOWED
    assert AbuseEvent.objects.filter(account=account, kind=EventKind.RECHECK_WARNED).count() == 2


@pytest.mark.parametrize(
    ("zone_name", "why"),
    [
        ("everything.dnsbl.example.org", "lists everything"),
        ("sbl.spamhaus.org", "public or open resolver"),  # answers 127.255.255.254 to its test point
    ],
)
def test_a_zone_that_lists_everything_or_answers_an_error_code_is_set_aside_and_blocks_nobody(
    cycle, zone, account, settings, zone_name, why
):
    settings.PORTAL_DNSBL_ZONES = [zone_name]
    settings.PORTAL_RECHECK_ZONE_ACTIONS = {"*": "block"}
    zone.list(V4, zone=zone_name)
    cycle.turn()
    status = ZoneStatus.objects.get(zone=zone_name)
    assert not status.usable and why in status.reason
    assert RecheckFinding.objects.count() == 0
    assert egress_of(account).desired == EgressState.ALLOWED


def test_an_error_code_in_an_answer_about_an_address_sets_the_zone_aside(cycle, zone, account, settings):
    settings.PORTAL_RECHECK_ZONE_ACTIONS = {"*": "block"}
    zone.list(V4, code="127.255.255.254")  # the test points pass; this answer is an error, not a listing
    cycle.turn()
    status = ZoneStatus.objects.get(zone=XBL)
    assert not status.usable and "public or open resolver" in status.reason
    assert RecheckFinding.objects.count() == 0
    assert egress_of(account).desired == EgressState.ALLOWED


def test_a_spent_daily_budget_moves_the_rest_to_the_next_day(cycle, settings, zone, account):
    settings.PORTAL_RECHECK_ZONE_DAILY_BUDGET = {"*": 1}
    cycle.turn()
    checked = WatchedAddress.objects.filter(checks=1)
    waiting = WatchedAddress.objects.get(checks=0)
    assert checked.count() == 1
    tomorrow = datetime.combine(timezone.now().date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert tomorrow <= waiting.due_at < tomorrow + timedelta(days=1)
    assert ZoneStatus.objects.get(zone=XBL).deferred == 1


def test_the_addresses_spread_over_the_period_never_a_burst_at_the_top_of_the_hour(db, account):
    addresses = {f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}": (account.pk, "") for i in range(6000)}
    with time_machine.travel(START, tick=False):
        recheck.watch(addresses)
    due = list(WatchedAddress.objects.values_list("due_at", flat=True))
    per_hour = [0] * 24
    first_minutes = 0
    for moment in due:
        per_hour[int((moment - START).total_seconds() // 3600)] += 1
        first_minutes += moment.minute == 0
    assert max(per_hour) < 1.25 * 6000 / 24 and min(per_hour) > 0.75 * 6000 / 24
    assert first_minutes < 2 * 6000 / 60  # an even spread puts 1/60 of them in any minute of the hour


def test_a_zone_with_an_access_key_is_asked_with_the_key_before_its_name(settings):
    settings.PORTAL_DNSBL_KEYS = {"zen.dq.spamhaus.net": "abc123key"}
    settings.PORTAL_DNSBL_ZONES = ["zen.dq.spamhaus.net"]
    [zone] = dnsbl.ip_zones()
    assert zone.delist_url == KNOWN_ZONES["zen.spamhaus.org"].delist_url
    assert dnsbl.query_name(zone, "192.0.2.5") == "5.2.0.192.abc123key.zen.dq.spamhaus.net"


def test_the_pacer_holds_a_zone_to_its_rate_per_second(settings):
    settings.PORTAL_RECHECK_ZONE_RATE = {"*": 3}
    now = [1000.25]
    waited = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    pacer = Pacer("rate.example", clock=lambda: now[0], sleep=sleep)
    for _ in range(7):
        pacer.take()
    assert waited == [0.75, 1.0]  # three in second 1000, three in 1001, the seventh in 1002


def test_an_address_no_longer_open_leaves_the_cycle(cycle, account, decide):
    cycle.turn()
    decide(account, EgressState.BLOCKED, source=EgressSource.STAFF)
    cycle.turn()
    assert WatchedAddress.objects.count() == 0


def test_a_block_the_recheck_did_not_make_is_never_lifted_by_it(cycle, zone, account, decide):
    cycle.turn()
    zone.list(V4)
    cycle.turn()
    decide(account, EgressState.BLOCKED, source=EgressSource.STAFF)
    zone.delist(V4)
    recheck_policy.weigh([], also=[account.pk])
    assert egress_of(account).source == EgressSource.STAFF


def _reconfigure(servers: PostfixServers, case: Case, verdict: str) -> None:
    """Rewrite the listener's overrides, have Postfix's master reload, and wait until it answers so."""
    servers.cases = (case,)
    (servers.folder / "master.cf").write_text(servers._master_cf())
    subprocess.run([POSTFIX, "-c", str(servers.folder), "reload"], check=True, capture_output=True, timeout=30)
    port = servers.ports[case.name]
    for _attempt in range(100):  # new smtpd processes read the new settings; old ones finish their session
        if relay_probe.probe("127.0.0.1", port).verdict == verdict:
            return
    raise AssertionError(f"Postfix did not become {verdict} after its reload")


@missing(postfix_missing())
def test_a_real_postfix_turned_open_relay_after_approval_is_blocked_and_lifted_once_fixed(
    db, recheck_settings, certificate, decide, django_capture_on_commit_callbacks, client
):
    closed = Case("recheck", "postfix", "closed", "Postfix defaults")
    opened = Case("recheck", "postfix", "open", "mynetworks covering the prober", (("mynetworks", "127.0.0.0/8"),))
    servers = PostfixServers((closed,), certificate).start()
    recheck_settings.PORTAL_SMTP_PROBE_PORT = servers.ports["recheck"]
    recheck_settings.PORTAL_RECHECK_RELAY = True
    user = make_customer("postmaster@relay.test", "Relay Ltd", "vm-relay", ["127.0.0.1"])
    account = user.membership.account
    client.force_login(user)
    try:
        with running_cycle(account, decide, django_capture_on_commit_callbacks) as cycle_:
            assert cycle_.turn() == 0  # a closed relay, a clean address

            _reconfigure(servers, opened, "open")
            assert cycle_.turn() == 1
            finding = RecheckFinding.objects.current().get()
            assert (finding.kind, finding.ip) == (FindingKind.OPEN_RELAY, "127.0.0.1")
            assert "open relay" in finding.summary
            egress = egress_of(account)
            assert (egress.desired, egress.source, egress.until) == (EgressState.BLOCKED, EgressSource.RECHECK, None)

            _reconfigure(servers, closed, "closed")
            with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
                client.post("/abuse/recheck/")
            assert egress_of(account).desired == EgressState.ALLOWED
            assert RecheckFinding.objects.current().count() == 0
    finally:
        servers.stop()


def test_metrics_say_what_is_listed_done_due_deferred_and_set_aside(cycle, zone, settings, client):
    settings.PORTAL_RECHECK_ZONE_DAILY_BUDGET = {XBL: 1, "*": 100}
    settings.PORTAL_DNSBL_ZONES = [XBL, "everything.dnsbl.example.org"]
    zone.list(V4)
    zone.list(V6)  # whichever is re-checked first is listed
    cycle.turn()
    samples = scrape(client)
    assert value(samples, "portal_recheck_listed_addresses", zone=XBL) == 1
    assert value(samples, "portal_recheck_findings", kind="listed") == 1
    assert value(samples, "portal_recheck_done_total") == 1
    assert value(samples, "portal_recheck_watched") == 2
    assert value(samples, "portal_recheck_due") == 0  # the other one waits for tomorrow
    assert value(samples, "portal_recheck_deferred_total", zone=XBL) == 1
    assert value(samples, "portal_recheck_zone_set_aside", zone="everything.dnsbl.example.org") == 1
    assert value(samples, "portal_recheck_zone_set_aside", zone=XBL) == 0
    assert value(samples, "portal_recheck_queries_total", zone=XBL) == 1


def test_the_abuse_desk_sees_the_listing_flagged_the_history_and_the_zones(cycle, zone, account, settings, abuse_desk):
    settings.PORTAL_DNSBL_ZONES = [XBL, "everything.dnsbl.example.org"]
    zone.list(V4)
    cycle.turn()
    desk = Client()
    desk.force_login(abuse_desk)
    flagged = desk.get("/admin/abuse/abuseevent/flagged/").content.decode()
    assert account.name in flagged and "Port 25 closed after a re-check: 1" in flagged
    history = desk.get(f"/admin/verification/recheckfinding/?account__id__exact={account.pk}").content.decode()
    assert V4 in history and XBL in history
    egress_page = desk.get(f"/admin/egress/accountegress/{egress_of(account).pk}/change/").content.decode()
    assert f"/admin/verification/recheckfinding/?account__id__exact={account.pk}" in egress_page
    zones = desk.get("/admin/verification/zonestatus/?usable__exact=0").content.decode()
    assert "everything.dnsbl.example.org" in zones and "lists everything" in zones


def test_the_demo_shows_an_open_account_with_a_listed_address(db, settings, client):
    settings.DEBUG = True
    settings.PORTAL_CHECK_ALLOW_NETWORKS = ["203.0.113.0/24"]
    call_command("seed_demo")
    call_command("seed_demo_abuse")
    call_command("seed_demo_abuse")  # idempotent
    client.force_login(User.objects.get(email=OPEN_EMAIL))
    page = client.get("/abuse/").content.decode()
    assert LISTED_IP in page and "bl.spamcop.net" in page and "https://www.spamcop.net/bl.shtml" in page
    assert RecheckFinding.objects.current().count() == 1
    assert WatchedAddress.objects.get().ip == LISTED_IP


def test_a_sending_domain_whose_spf_stops_covering_the_addresses_is_found_and_the_customer_warned(
    recheck_settings, zone, check_zone, account, decide, django_capture_on_commit_callbacks, customer_client
):
    domain = "spf-recheck.example.org"
    record = f"{domain}. 60 IN TXT"
    check_zone.resolver.add(f'{record} "v=spf1 ip4:{V4} ip6:{V6} -all"')
    with running_cycle(account, decide, django_capture_on_commit_callbacks, sending_domain=domain) as cycle_:
        assert {w.sending_domain for w in WatchedAddress.objects.all()} == {domain}
        assert cycle_.turn() == 0
        check_zone.resolver.records[f"{domain}.".lower()] = []
        check_zone.resolver.add(f'{record} "v=spf1 ip4:192.0.2.1 -all"')
        assert cycle_.turn() == 2
    found = RecheckFinding.objects.current().order_by("ip")
    assert {(f.ip, f.kind) for f in found} == {(V4, FindingKind.SPF), (V6, FindingKind.SPF)}
    assert all(domain in f.summary and "(fail)" in f.summary for f in found)
    assert egress_of(account).desired == EgressState.ALLOWED  # warned, not blocked, by default
    assert AbuseEvent.objects.filter(account=account, kind=EventKind.RECHECK_WARNED).count() == 1
    page = customer_client.get("/abuse/").content.decode()
    assert f"Add this address to the SPF record of {domain}" in page


def test_an_approval_records_the_domain_the_request_declared_for_the_spf_recheck(awaiting_request, reviewer):
    review.approve(awaiting_request.pk, reviewer, expected_status=awaiting_request.status)
    assert egress_of(awaiting_request.account).sending_domain == awaiting_request.sending_domain
