"""Unsubscribe link: recipients must be able to leave, so the link has to work, over HTTPS."""

from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from verification.checks import safe_http
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict


def applies(subject: CheckSubject) -> bool:
    return subject.marketing or bool(subject.unsubscribe_url)


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    url = subject.unsubscribe_url.strip()
    if not url:
        return Outcome(Verdict.FAIL, _("Marketing mail needs an unsubscribe link; add it to the request."), {})
    if urlsplit(url).scheme.lower() != "https":
        return Outcome(
            Verdict.FAIL,
            _("The unsubscribe link %(url)s does not use https://; serve it over HTTPS.") % {"url": url},
            {"url": url},
        )
    result = safe_http.fetch(url, deadline=deadline)
    evidence = {"url": url, **result.as_dict()}
    values = {"url": url, "detail": result.detail}
    if result.problem in (safe_http.DNS_UNAVAILABLE, safe_http.TIMEOUT):
        return Outcome(
            Verdict.ERROR,
            _("Your unsubscribe link %(url)s did not answer in time (%(detail)s); we will try again.") % values,
            evidence,
        )
    if result.problem == safe_http.REFUSED:
        return Outcome(
            Verdict.FAIL,
            _(
                "Your unsubscribe link %(url)s leads to an address that is not on the public Internet "
                "(%(detail)s). Use a link that anyone can open."
            )
            % values,
            evidence,
        )
    if result.problem:
        return Outcome(
            Verdict.FAIL,
            _("Your unsubscribe link %(url)s does not work (%(detail)s). Fix the page, then re-run the checks.")
            % values,
            evidence,
        )
    if (result.status or 0) >= 400:
        return Outcome(
            Verdict.FAIL,
            _("Your unsubscribe link %(url)s answers with error %(status)s. Fix the page, then re-run the checks.")
            % {"url": url, "status": result.status},
            evidence,
        )
    if any(urlsplit(hop.url).scheme != "https" for hop in result.hops):
        return Outcome(
            Verdict.WARN,
            _("Your unsubscribe link %(url)s redirects to a plain http:// page; keep every step on HTTPS.") % values,
            evidence,
        )
    return Outcome(Verdict.PASS, _("Your unsubscribe link %(url)s works.") % values, evidence)
