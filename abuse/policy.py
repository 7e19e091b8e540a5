"""The revocation policy: weigh an account's recent reports and decide to warn or revoke.

Runs on the worker once the API's reports are matched (abuse.backlog), right after the desk's own
reports commit (abuse.intake), and from the periodic sweep. Evaluations of one account are
serialised by its row lock: a burst of reports yields one decision.

Only evidence nobody can forge is weighed (docs/abuse-evidence.md): reports from the API (a reporter's
token), mail whose reporter is authenticated, reports staff file, and unverified mail a person confirmed.

Traffic is weighed here too, beside the reports, never alone (abuse/traffic_policy.py acts on
traffic by itself): each temporary block after a burst within the window counts as
PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT complaints, and a temporary block does not shield the account
from a revocation (it would lift by itself): a revoking verdict replaces it.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, FloatField, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from abuse import notifications
from abuse.models import (
    OPEN_STATES,
    AbuseEvent,
    AbuseReport,
    EventKind,
    PolicyDecision,
    PolicyOutcome,
    Revocation,
    SourceRule,
)
from abuse.revocations import revoke
from accounts.models import Account
from egress.models import AccountEgress, EgressState
from egress.selectors import allowed_accounts, desired_egress, traffic_blocks
from egress.services import deciding_together

logger = logging.getLogger(__name__)

StateClosed = tuple[str, datetime | None]  # a revocation's state and when it was closed


@dataclass(frozen=True)
class Policy:
    instant: frozenset[str]
    revoke_after: int
    warn_after: int
    window: timedelta
    derived_weight: float = 1.0  # what a report whose address was derived from Received headers counts for
    traffic_block_weight: float = 0.0  # what a temporary block after a burst counts for, beside reports

    @classmethod
    def from_settings(cls) -> "Policy":
        return cls(
            instant=frozenset(settings.PORTAL_ABUSE_INSTANT_CATEGORIES),
            revoke_after=settings.PORTAL_ABUSE_REVOKE_AFTER,
            warn_after=settings.PORTAL_ABUSE_WARN_AFTER,
            window=timedelta(hours=settings.PORTAL_ABUSE_WINDOW_HOURS),
            derived_weight=settings.PORTAL_ABUSE_DERIVED_WEIGHT,
            traffic_block_weight=settings.PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT,
        )

    def weight(self, reports: Iterable[AbuseReport]) -> float:
        """What these reports count for: one each whose reporter stated the address, less if derived."""
        return sum(1.0 if r.source_rule == SourceRule.DECLARED else self.derived_weight for r in reports)

    def weight_in_sql(self) -> Case:
        """`weight` of one report, for the database to sum."""
        return Case(
            When(source_rule=SourceRule.DECLARED, then=Value(1.0)),
            default=Value(self.derived_weight),
            output_field=FloatField(),
        )

    @property
    def hours(self) -> str:
        return f"{self.window.total_seconds() / 3600:g}"

    def outcome_for(self, instant: float, complaints: float, traffic_blocks: int = 0) -> str | None:
        """The thresholds: what an account's counting reports call for (an PolicyOutcome), or None.

        The counts are weights (`weight`): instant reports revoke from a weight of one (a spam-trap
        hit whose address was only derived does not, alone) and count towards a warning. Traffic
        blocks in the window add `traffic_block_weight` complaints each, when a report counts too.
        """
        if not (instant or complaints):
            return None  # traffic alone is the traffic policy's to act on
        complaints += self.traffic_block_weight * traffic_blocks
        if instant >= 1 or (complaints and complaints >= self.revoke_after):
            return PolicyOutcome.REVOKE
        if self.warn_after and instant + complaints >= self.warn_after:
            return PolicyOutcome.WARN
        return None


DECIDED_TOGETHER = 20  # accounts locked and decided in one transaction


def evaluate(account_id: int) -> PolicyDecision | None:
    """Decide about the account now; None when nothing new is to be decided. Safe to run twice."""
    revocations, warnings = triage([account_id])
    decisions = _decide_together([account_id], Policy.from_settings()) if revocations or warnings else []
    return decisions[0] if decisions else None


def evaluate_many(account_ids: Iterable[int]) -> list[PolicyDecision]:
    """Decide about these accounts, revocations first."""
    revocations, warnings = triage(account_ids)
    return decide_each(revocations + warnings)


def decide_each(account_ids: Iterable[int]) -> list[PolicyDecision]:
    """Decide about these accounts, DECIDED_TOGETHER at a time; one account's failure does not stop the others."""
    policy = Policy.from_settings()
    ids = list(account_ids)
    decisions = []
    for group in (ids[start : start + DECIDED_TOGETHER] for start in range(0, len(ids), DECIDED_TOGETHER)):
        try:
            decisions += _decide_together(group, policy)
        except Exception:  # the group's transaction rolled back: each account alone, so that one costs no other
            logger.exception("Could not weigh accounts %s together; weighing each alone", group)
            for account_id in group:
                try:
                    decisions += _decide_together([account_id], policy)
                except Exception:  # the sweep weighs the account again
                    logger.exception("Could not weigh account %s", account_id)
    return decisions


@dataclass(frozen=True)
class _Verdict:
    revokes: bool  # else it warns
    reports: list[AbuseReport]
    rule: str


def _verdict(reports: list[AbuseReport], policy: Policy, blocks: int) -> _Verdict | None:
    """What the policy says of an account's reports that count, and its traffic blocks: revoke, warn, or nothing."""
    instant = [r for r in reports if r.category in policy.instant]
    complaints = [r for r in reports if r.category not in policy.instant]
    instant_weight = policy.weight(instant)
    outcome = policy.outcome_for(instant_weight, policy.weight(complaints), blocks)
    if outcome is None:
        return None
    if policy.outcome_for(instant_weight, 0) == PolicyOutcome.REVOKE:  # instant reports alone revoke
        rule = ngettext(
            "%(n)d %(categories)s report within %(hours)s h: revokes at once.",
            "%(n)d %(categories)s reports within %(hours)s h: revoke at once.",
            len(instant),
        ) % {"n": len(instant), "categories": "/".join(sorted({r.category for r in instant})), "hours": policy.hours}
        return _Verdict(True, instant, rule)
    if outcome == PolicyOutcome.REVOKE:
        # One complaint can revoke where temporary blocks count beside it.
        rule = ngettext(
            "%(n)d complaint within %(hours)s h (revocation at %(limit)d).",
            "%(n)d complaints within %(hours)s h (revocation at %(limit)d).",
            len(complaints),
        ) % {"n": len(complaints), "hours": policy.hours, "limit": policy.revoke_after}
        return _Verdict(True, complaints, rule + _with_traffic(blocks, policy))
    rule = _("%(n)d complaint(s) within %(hours)s h (warning from %(warn)d, revocation at %(limit)d).") % {
        "n": len(reports),
        "hours": policy.hours,
        "warn": policy.warn_after,
        "limit": policy.revoke_after,
    }
    return _Verdict(False, instant + complaints, rule + _with_traffic(blocks, policy))


def _with_traffic(blocks: int, policy: Policy) -> str:
    """The rule's words for the traffic blocks it counted, if any."""
    if not (blocks and policy.traffic_block_weight):
        return ""
    return " " + ngettext(
        "With %(n)d temporary block after a burst on port 25, counted as %(weight)g complaint(s) each.",
        "With %(n)d temporary blocks after a burst on port 25, counted as %(weight)g complaint(s) each.",
        blocks,
    ) % {"n": blocks, "weight": policy.traffic_block_weight}


def _revocable(egress: AccountEgress) -> bool:
    """Open, or closed only until a temporary block lifts by itself: a revocation has something to close."""
    lifts_to_open = egress.until is not None and egress.returns_to == EgressState.ALLOWED
    return egress.desired == EgressState.ALLOWED or lifts_to_open


def _traffic_blocks(since: dict[int, datetime], policy: Policy) -> dict[int, int]:
    """Each account's temporary blocks after a burst since its moment; none looked up when they weigh nothing."""
    if not policy.traffic_block_weight:
        return {}
    found: dict[int, int] = {}
    for moment, account_ids in _by_moment(since).items():
        found.update(traffic_blocks(account_ids, after=moment))
    return found


def _decide_together(account_ids: list[int], policy: Policy) -> list[PolicyDecision]:
    """Most reports change nothing (the account was warned already, or is revoked): `triage` says
    so in a few reads without a lock; only a possible decision takes the accounts' locks here and
    looks again, for a group of accounts in the same few queries as for one.
    """
    with transaction.atomic(), deciding_together():
        # FOR NO KEY UPDATE of the accounts alone, in one order: serialises evaluations, yet lets new reports in.
        locked = Account.objects.select_for_update(no_key=True, of=("self",)).select_related("egress")
        accounts = list(locked.filter(pk__in=account_ids).order_by("pk"))
        revocations = _revocations_of(account_ids)
        window_start = timezone.now() - policy.window
        since, revocable = {}, {}
        for account in accounts:
            revocable[account.pk] = _revocable(desired_egress(account))
            moment, revoked = _counting_since(revocations[account.pk], window_start)
            if not (revoked and not revocable[account.pk]):  # else revoked: waits for the desk
                since[account.pk] = moment
        reports = _counting_reports(since)
        blocks = _traffic_blocks({account_id: since[account_id] for account_id in reports}, policy)
        warned = _warned_since(since)
        decisions, warnings = [], []
        for account in accounts:
            # An account left out of `since` (revoked, waiting for the desk) has no reports counted.
            verdict = _verdict(reports.get(account.pk, []), policy, blocks.get(account.pk, 0))
            if verdict is None:
                continue
            if verdict.revokes and revocable[account.pk]:
                decisions.append(revoke(account, verdict.reports, verdict.rule))
            elif account.pk not in warned:  # one warning per window: the customer is told once
                rule = verdict.rule
                if verdict.revokes:  # a closed port cannot be revoked: the desk is warned
                    rule += " " + _("Port 25 is not open: flagged for the abuse desk.")
                warnings.append((account, verdict.reports, rule))
        return decisions + _warn(warnings)


def _counting_reports(since: dict[int, datetime]) -> dict[int, list[AbuseReport]]:
    """Each account's reports since its moment; one query per distinct moment."""
    found: dict[int, list[AbuseReport]] = defaultdict(list)
    for moment, account_ids in _by_moment(since).items():
        # Only what the rule and the decision read: a report's raw evidence may weigh megabytes.
        rows = (
            AbuseReport.objects.weighing()
            .filter(account_id__in=account_ids, occurred_at__gt=moment)
            .only("account_id", "category", "source_ip", "source_rule")
            .order_by()
        )
        for report in rows:
            found[report.account_id].append(report)
    return found


def _warned_since(since: dict[int, datetime]) -> set[int]:
    """The accounts already warned since their moment."""
    if not since:
        return set()
    warnings = PolicyDecision.objects.filter(
        account_id__in=since, outcome=PolicyOutcome.WARN, decided_at__gt=min(since.values())
    ).values_list("account_id", "decided_at")
    return {account_id for account_id, at in warnings if at > since[account_id]}


def _warn(warnings: list[tuple[Account, list[AbuseReport], str]]) -> list[PolicyDecision]:
    """Warn these accounts: their decisions and timeline events stored together, a mail to each."""
    decisions = PolicyDecision.objects.record_many(
        [(account, PolicyOutcome.WARN, rule, reports) for account, reports, rule in warnings]
    )
    AbuseEvent.objects.bulk_create(
        AbuseEvent(account=decision.account, kind=EventKind.WARNED, decision=decision, message=decision.rule)
        for decision in decisions
    )
    notifications.warned(
        [(decision, len(reports)) for decision, (_account, reports, _rule) in zip(decisions, warnings, strict=True)]
    )
    return decisions


def _by_moment(since: dict[int, datetime]) -> dict[datetime, list[int]]:
    accounts_since: dict[datetime, list[int]] = defaultdict(list)
    for account_id, moment in since.items():
        accounts_since[moment].append(account_id)
    return accounts_since


def _revocations_of(account_ids: Iterable[int]) -> dict[int, list[StateClosed]]:
    """Each account's revocations as (state, closed_at), in one query."""
    revocations: dict[int, list[StateClosed]] = defaultdict(list)
    rows = Revocation.objects.filter(account_id__in=account_ids).values_list("account_id", "state", "closed_at")
    for account_id, state, closed_at in rows:
        revocations[account_id].append((state, closed_at))
    return revocations


def _counting_since(revocations: Iterable[StateClosed], window_start: datetime) -> tuple[datetime, bool]:
    """(since when the account's reports count, whether a revocation is open), from its revocations'
    (state, closed_at): reports count within the window, and only after the last way back."""
    since, revoked = window_start, False
    for state, closed_at in revocations:
        revoked = revoked or state in OPEN_STATES
        if closed_at and closed_at > since:
            since = closed_at
    return since, revoked


def triage(account_ids: Iterable[int]) -> tuple[list[int], list[int]]:
    """(accounts whose reports may revoke now, accounts that may be warned); the others have nothing new.

    Read without a lock, in a few queries for a whole burst of accounts; deciding looks again under
    the account's lock. Revocations are urgent, a warning can wait a moment.
    """
    policy = Policy.from_settings()
    ids = set(account_ids)
    revocations = _revocations_of(ids)
    window_start = timezone.now() - policy.window
    since, revoked = {}, set()
    for account_id in ids:
        since[account_id], is_open = _counting_since(revocations[account_id], window_start)
        if is_open:
            revoked.add(account_id)
    # Revoked accounts wait for the abuse desk, unless their port was opened again meanwhile.
    reopened = sorted(allowed_accounts(revoked))
    counts = _report_counts({account_id: since[account_id] for account_id in ids - revoked}, policy)
    blocks = _traffic_blocks({account_id: since[account_id] for account_id in counts}, policy)
    revoke, warn = [], []
    for account_id, (instant, complaints) in sorted(counts.items()):
        outcome = policy.outcome_for(instant, complaints, blocks.get(account_id, 0))
        if outcome == PolicyOutcome.REVOKE:
            revoke.append(account_id)
        elif outcome == PolicyOutcome.WARN:
            warn.append(account_id)
    warned = _warned_since({account_id: since[account_id] for account_id in warn})
    return reopened + revoke, [account_id for account_id in warn if account_id not in warned]


def _report_counts(since: dict[int, datetime], policy: Policy) -> dict[int, tuple[float, float]]:
    """(instant, complaints): each account's reports weighed (Policy.weight) since its moment, a query per moment."""
    counts = {}
    for moment, account_ids in _by_moment(since).items():
        rows = (
            AbuseReport.objects.weighing()
            .filter(account_id__in=account_ids, occurred_at__gt=moment)
            .order_by()
            .values("account_id")
            .annotate(
                instant=Sum(policy.weight_in_sql(), filter=Q(category__in=policy.instant), default=0.0),
                complaints=Sum(policy.weight_in_sql(), filter=~Q(category__in=policy.instant), default=0.0),
            )
        )
        counts.update({row["account_id"]: (row["instant"], row["complaints"]) for row in rows})
    return counts
