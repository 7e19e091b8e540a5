"""Account signals: how much the account's own history says about the risk of opening port 25."""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from verification.outcome import CheckSubject, Deadline, Outcome, Verdict


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    facts = subject.account
    if facts is None:
        return Outcome(Verdict.ERROR, _("The account's history could not be read."), {})
    age_days = (timezone.now() - facts.created_at).days
    evidence = {
        "age_days": age_days,
        "missing_verifications": facts.missing_verifications,
        "revoked_for_abuse": facts.revoked_for_abuse,
        "earlier_rejections": facts.earlier_rejections,
    }
    if facts.revoked_for_abuse:
        return Outcome(
            Verdict.FAIL,
            _("Port 25 was closed on this account after abuse reports; a reviewer will look at the history."),
            evidence,
        )
    if facts.missing_verifications:
        return Outcome(
            Verdict.WARN,
            _("Before this request can be approved, complete %(todo)s in your provider's control panel.")
            % {"todo": _(" and ").join(facts.missing_verifications)},
            evidence,
        )
    if facts.earlier_rejections:
        return Outcome(
            Verdict.WARN,
            ngettext(
                "An earlier request of this account was rejected; a reviewer will take it into account.",
                "%(count)d earlier requests of this account were rejected; a reviewer will take them into account.",
                facts.earlier_rejections,
            )
            % {"count": facts.earlier_rejections},
            evidence,
        )
    if age_days < settings.PORTAL_CHECK_NEW_ACCOUNT_DAYS:
        return Outcome(
            Verdict.WARN,
            _("The account is %(days)d days old; new accounts get a closer look.") % {"days": age_days},
            evidence,
        )
    return Outcome(Verdict.PASS, _("The account is verified and in good standing."), evidence)
