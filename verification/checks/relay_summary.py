"""The customer's one-line answer for a relay probe report, worst finding first, naming the attempt that decided."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _

from verification.checks.relay_rules import CLOSED, OPEN, TEMPORARY, retry_after_seconds
from verification.outcome import Outcome, Verdict

if TYPE_CHECKING:
    from verification.checks.relay_probe import Attempt, ProbeReport


def not_public(ip: str) -> Outcome:
    return Outcome(
        Verdict.FAIL,
        _("%(ip)s is not a public Internet address; give the public IP of your mail server.") % {"ip": ip},
        {"ip": ip, "refused": "not a public address"},
    )


def _answer(attempt: Attempt) -> str:
    """`454 4.7.1 ... Relay access denied to <relay-test@example.net>`, as the customer's logs would show it."""
    return _("“%(code)s %(reply)s” to <%(recipient)s>%(tls)s") % {
        "code": attempt.code,
        "reply": attempt.reply,
        "recipient": attempt.recipient,
        "tls": _(" inside TLS") if attempt.tls else "",
    }


def outcome_of(report: ProbeReport) -> Outcome:
    evidence = report.as_dict()
    if report.verdict == OPEN:
        first = report.accepted[0]
        return Outcome(
            Verdict.FAIL,
            _(
                "Your mail server is an open relay: it accepted mail from %(sender)s to %(recipient)s%(tls)s, "
                "so anyone can send spam through it. Allow relaying only for authenticated users "
                "(e.g. Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
                "reject_unauth_destination), then re-run the checks."
            )
            % {
                "sender": first.sender or "<>",
                "recipient": first.recipient,
                "tls": _(" after STARTTLS") if first.tls else "",
            },
            evidence,
        )
    if report.verdict != CLOSED:
        return _inconclusive(report, evidence)
    return _closed(report, evidence)


def _inconclusive(report: ProbeReport, evidence: dict) -> Outcome:
    deciding = report.deciding_attempt
    if deciding is not None and deciding.outcome == TEMPORARY:
        wait = retry_after_seconds(deciding.reply, settings.PORTAL_CHECK_RERUN_INTERVAL)
        minutes = max(1, math.ceil(max(wait, settings.PORTAL_CHECK_RERUN_INTERVAL) / 60))
        return Outcome(
            Verdict.ERROR,
            _(
                "Your mail server answered our relay test only with a temporary refusal (%(answer)s), "
                "as greylisting does, so we cannot tell yet whether it relays for strangers. Re-run the checks "
                "in %(minutes)d minutes. If it keeps happening, refuse relaying before greylisting "
                "(e.g. Postfix: reject_unauth_destination before check_policy_service)."
            )
            % {"answer": f"{deciding.code} {deciding.reply}", "minutes": minutes},
            evidence,
        )
    return Outcome(
        Verdict.ERROR,
        _(
            "We could not complete a test conversation with %(ip)s on port %(port)s (%(error)s). "
            "Make sure your mail server is running and reachable from the Internet, then re-run the checks."
        )
        % {"ip": report.ip, "port": report.port, "error": report.error or report.reason},
        evidence,
    )


def _closed(report: ProbeReport, evidence: dict) -> Outcome:
    answer = _answer(report.deciding_attempt)
    if report.auth_before_tls:
        return Outcome(
            Verdict.WARN,
            _(
                "Your mail server refuses to relay (good: %(answer)s), but offers passwords (AUTH) before "
                "encryption is started. Offer AUTH only after STARTTLS (e.g. Postfix: smtpd_tls_auth_only = yes)."
            )
            % {"answer": answer},
            evidence,
        )
    if not report.starttls:
        return Outcome(
            Verdict.WARN,
            _(
                "Your mail server refuses to relay (good: %(answer)s), but does not offer STARTTLS: mail to it "
                "travels unencrypted. Configure a TLS certificate."
            )
            % {"answer": answer},
            evidence,
        )
    if report.name_matches_rdns is False:
        return Outcome(
            Verdict.WARN,
            _(
                "Your mail server refuses to relay (good: %(answer)s), but greets as %(name)s while the reverse DNS "
                "of %(ip)s is %(rdns)s. Make the greeting name (e.g. Postfix myhostname) match the reverse DNS."
            )
            % {
                "answer": answer,
                "name": report.ehlo_name or report.banner.split(" ", 1)[0],
                "ip": report.ip,
                "rdns": report.rdns[0],
            },
            evidence,
        )
    return Outcome(
        Verdict.PASS,
        _("Your mail server refuses to relay for strangers (%(answer)s) and offers STARTTLS.") % {"answer": answer},
        evidence,
    )
