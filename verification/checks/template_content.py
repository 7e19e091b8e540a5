"""Example-template content: what anti-spam law and receivers expect of marketing mail, and obvious spam."""

import html
import re
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from verification.outcome import CheckSubject, Deadline, Outcome, Verdict

_URL = re.compile(r"""https?://[^\s"'<>()]+""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_UNSUBSCRIBE = re.compile(
    r"unsubscribe|opt[ -]?out|abmelden|d[ée]sinscri|d[ée]sabonn|darse de baja|\*\|unsub\|\*|\{\{?\s*unsubscribe",
    re.IGNORECASE,
)
# A street line ("1 Main St", "Hauptstraße 5") or a post box, or a postcode next to a place name.
_POSTAL = re.compile(
    r"\b\d+[a-z]?\s+[\w .'-]{2,40}\b(street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|place|pl"
    r"|square|sq|court|ct|highway|hwy)\b\.?"
    r"|\b[\w.-]{2,40}(stra(ss|ß)e|str\.|weg|gasse|platz|allee|ring)\s+\d+"
    r"|\b(p\.?\s?o\.?\s?box|postfach|bo[iî]te postale)\s*\d+"
    r"|(?-i:\b\d{4,5}\s+[A-Z][a-zäöüé]+)"
    r"|(?-i:\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b)",
    re.IGNORECASE,
)
SPAM_PHRASES = (
    "100% free",
    "act now",
    "buy now",
    "cash bonus",
    "click here",
    "double your",
    "earn money",
    "guaranteed",
    "limited time",
    "lowest price",
    "make money fast",
    "no credit check",
    "risk-free",
    "viagra",
    "winner",
    "you have been selected",
    "crypto giveaway",
)
SHORTENERS = ("bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "cutt.ly", "rebrand.ly")


def hosts_of(urls: list[str]) -> list[str]:
    hosts = []
    for url in urls:
        try:
            host = urlsplit(url.strip()).hostname if url else None
        except ValueError:
            continue
        if host:
            hosts.append(host.lower())
    return hosts


def linked_hosts(template: str) -> list[str]:
    """Host names of every link in the template, in order of appearance, once each."""
    hosts = hosts_of(_URL.findall(html.unescape(template or "")))
    return list(dict.fromkeys(hosts))


def visible_text(template: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", template or ""))).strip()


def spam_signs(template: str) -> list[str]:
    text = visible_text(template)
    lowered = text.lower()
    signs = [f"phrase “{phrase}”" for phrase in SPAM_PHRASES if phrase in lowered]
    words = re.findall(r"[A-Za-z]{4,}", text)
    if len(words) >= 10 and sum(w.isupper() for w in words) / len(words) > 0.3:
        signs.append("many words in capitals")
    if "!!!" in text:
        signs.append("“!!!”")
    signs += [f"link shortener {host}" for host in linked_hosts(template) if host in SHORTENERS]
    return signs


def applies(subject: CheckSubject) -> bool:
    return subject.marketing or bool(subject.email_template.strip())


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    template = subject.email_template
    text = visible_text(template)
    unsubscribe = bool(_UNSUBSCRIBE.search(template)) or bool(
        subject.unsubscribe_url and subject.unsubscribe_url in template
    )
    postal = bool(_POSTAL.search(text))
    names = [n.lower() for n in (subject.company_name, subject.sending_domain) if n]
    identified = any(name in text.lower() or name in template.lower() for name in names)
    signs = spam_signs(template)
    evidence = {
        "marketing": subject.marketing,
        "unsubscribe_link": unsubscribe,
        "postal_address": postal,
        "sender_identified": identified,
        "spam_signs": signs,
        "linked_hosts": linked_hosts(template),
    }
    if not template.strip():
        return Outcome(
            Verdict.FAIL,
            _("Marketing mail needs an example email; add one to the request so we can check it."),
            evidence,
        )
    if subject.marketing and not unsubscribe:
        return Outcome(
            Verdict.FAIL,
            _("Your example email has no unsubscribe link. Marketing mail must let every recipient opt out."),
            evidence,
        )
    if subject.marketing and not postal:
        return Outcome(
            Verdict.FAIL,
            _("Your example email shows no postal address. Marketing mail must include the sender's postal address."),
            evidence,
        )
    if signs:
        return Outcome(
            Verdict.WARN,
            _("Your example email looks like spam to filters (%(signs)s); rephrase it.") % {"signs": ", ".join(signs)},
            evidence,
        )
    if not identified:
        return Outcome(
            Verdict.WARN,
            _("Your example email does not name the sender (%(name)s); say clearly who sends it.")
            % {"name": subject.company_name or subject.sending_domain},
            evidence,
        )
    return Outcome(Verdict.PASS, _("Your example email identifies the sender and has what the law requires."), evidence)
