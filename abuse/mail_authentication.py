"""Who sent a mail to the abuse mailbox, as far as it can be proven (docs/abuse-evidence.md).

Anyone can write `From: fbl@bigmail.example`. A mail is taken as a reporter's only when it proves
one of the reporter's signing domains (abuse.models.Reporter.signs_as):

- a DKIM signature (RFC 6376) verified here, its key looked up through the portal's resolver,
  whose d= is that domain or under it; rsa-sha1 (RFC 8301) and l= (a signed prefix of the body)
  prove nothing, and neither does a signature that leaves out an instance of a header field the
  parsers read (one added after signing would be read instead of the signed one);
- or `dkim=pass header.d=<domain>` in the Authentication-Results (RFC 8601) that our own MX stamped:
  only the topmost such header with an authserv-id of PORTAL_ABUSE_MAIL_AUTHSERV_IDS is read.

The reporter is the one the proven domain names, never the one the From header names.
"""

import logging
from dataclasses import dataclass

import authres
import dkim
import dns.exception
import dns.resolver
from django.conf import settings
from django.utils.translation import gettext as _
from dkim.util import InvalidTagValueList, parse_tag_value

from abuse.models import Reporter
from verification.dns_resolver import make_resolver

logger = logging.getLogger(__name__)

# The header fields abuse.formats reads from the report itself: each instance must be signed.
READ_FIELDS = (
    b"from",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"x-arf",
    b"x-xarf",
)
MOST_SIGNATURES = 3  # signatures of reporters' domains verified in one mail (each costs a DNS lookup)


@dataclass(frozen=True)
class Proof:
    """The authenticated reporter (None: nothing proved one) and what was found, for the abuse desk."""

    reporter: Reporter | None
    note: str


def authenticate(raw: bytes) -> Proof:
    """The reporter this mail proves it comes from, by DKIM or our MX's verdict; Proof(None, why) if none."""
    reporters = [reporter for reporter in Reporter.objects.filter(active=True) if reporter.signs_as()]
    message = _crlf(raw)
    found: list[str] = []
    for check in (_by_signature, _by_our_mx):
        try:
            proof = check(message, reporters, found)
        except Exception:  # hostile input must not lose the report: it is kept, as unverified
            logger.exception("Could not authenticate an abuse mail")
            found.append(_("The mail could not be checked (%(check)s).") % {"check": check.__name__.strip("_")})
            continue
        if proof is not None:
            return proof
    found.append(_("Unverified: nothing proves the mail comes from a configured reporter; it weighs nothing."))
    return Proof(None, " ".join(found))


def reporter_for(domain: str, reporters: list[Reporter]) -> Reporter | None:
    """The reporter that signs as this domain (or a parent of it)."""
    domain = domain.strip(".").lower()
    for reporter in reporters:
        if any(domain == own or domain.endswith("." + own) for own in reporter.signs_as()):
            return reporter
    return None


def _by_signature(message: bytes, reporters: list[Reporter], found: list[str]) -> Proof | None:
    verifier = dkim.DKIM(message, logger=logger, timeout=settings.PORTAL_DNS_TIMEOUT)
    signatures = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    if not signatures:
        found.append(_("No DKIM signature."))
    verified = 0
    for index, value in enumerate(signatures):
        domain = _signed_as(value)
        reporter = reporter_for(domain, reporters) if domain else None
        if reporter is None:  # not looked up: nobody's key in DNS can make it a reporter's
            found.append(_("DKIM signature of %(domain)s: no reporter signs as it.") % {"domain": domain or "?"})
            continue
        if verified == MOST_SIGNATURES:
            break
        verified += 1
        verifier.signature_fields = {}
        try:
            valid, error = verifier.verify(idx=index, dnsfunc=_txt), ""
        except dkim.DKIMException as exc:  # a body hash mismatch, a malformed signature, no key
            valid, error = False, str(exc)
        reason = _unfit(verifier) if valid else _("does not verify (%(error)s)") % {"error": error or _("changed")}
        if reason:
            found.append(_("DKIM signature of %(domain)s: %(reason)s.") % {"domain": domain, "reason": reason})
            continue
        note = _("Authenticated: valid DKIM signature of %(domain)s (selector %(selector)s), reporter %(name)s.")
        selector = verifier.signature_fields.get(b"s", b"").decode("ascii", "replace")
        return Proof(reporter, note % {"domain": domain, "selector": selector, "name": reporter.name})
    return None


def _signed_as(value: bytes) -> str:
    """The d= of a DKIM-Signature header's value, "" when it cannot be read."""
    try:
        tags = parse_tag_value(value)
    except InvalidTagValueList:
        return ""
    return tags.get(b"d", b"").decode("ascii", "replace").strip().lower()


def _unfit(verifier: dkim.DKIM) -> str:
    """Why a signature that verifies still proves nothing about what is read, or ""."""
    fields = verifier.signature_fields
    if fields.get(b"a", b"").lower() == b"rsa-sha1":
        return _("rsa-sha1, which proves nothing any more (RFC 8301)")
    if b"l" in fields:
        return _("it signs only part of the body (l=)")
    signed = [name.lower() for name in verifier.include_headers]
    present = [name.lower() for name, _value in verifier.headers]
    unsigned = [
        name.decode() for name in READ_FIELDS if present.count(name) > signed.count(name)
    ]  # the signed instances are the bottom-most: one more is an addition
    if unsigned:
        return _("it leaves out header fields read from the report: %(names)s") % {"names": ", ".join(unsigned)}
    return ""


def _by_our_mx(message: bytes, reporters: list[Reporter], found: list[str]) -> Proof | None:
    trusted = set(settings.PORTAL_ABUSE_MAIL_AUTHSERV_IDS)
    if not trusted:
        return None
    verdict = _topmost_verdict(message, trusted)
    if verdict is None:
        found.append(_("No Authentication-Results of our MX (%(ids)s).") % {"ids": ", ".join(sorted(trusted))})
        return None
    for result in verdict.results:
        if result.method != "dkim" or result.result != "pass":
            continue
        domain = _signing_domain(result)
        reporter = reporter_for(domain, reporters) if domain else None
        if reporter is not None:
            note = _("Authenticated: our MX %(mx)s found a valid DKIM signature of %(domain)s, reporter %(name)s.")
            return Proof(reporter, note % {"mx": verdict.authserv_id, "domain": domain, "name": reporter.name})
    found.append(
        _("The Authentication-Results of our MX %(mx)s show no DKIM pass of a reporter's domain.")
        % {"mx": verdict.authserv_id}
    )
    return None


def _topmost_verdict(message: bytes, trusted: set[str]) -> "authres.AuthenticationResultsHeader | None":
    """The topmost Authentication-Results header with a trusted authserv-id: the one our MX stamped on
    arrival. Any below it came with the message, from whoever wrote it."""
    for name, value in dkim.rfc822_parse(message)[0]:
        if name.lower() != b"authentication-results":
            continue
        text = " ".join(value.decode("utf-8", "replace").split())
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(text)
        except authres.AuthResError:
            continue
        if str(parsed.authserv_id).lower() in trusted:
            return parsed
    return None


def _signing_domain(result: "authres.AuthenticationResult") -> str:
    """header.d of a DKIM result, else the domain of header.i."""
    values = {prop.name.lower(): str(prop.value) for prop in result.properties if prop.type.lower() == "header"}
    return (values.get("d") or values.get("i", "").rpartition("@")[2]).strip().lower()


def _txt(name: bytes, timeout: float = 5) -> bytes | None:
    """dkimpy's key lookup, through the portal's resolver (PORTAL_DNS_NAMESERVERS)."""
    try:
        answer = make_resolver().resolve(name.decode("ascii"), "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, UnicodeDecodeError):
        return None
    except dns.exception.Timeout as exc:
        raise dkim.DnsTimeoutError(str(exc)) from None
    for record in answer.rrset or []:
        return b"".join(record.strings)
    return None


def _crlf(raw: bytes) -> bytes:
    """The message with CRLF line ends, as it was signed (a file or a test may have LF only)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
