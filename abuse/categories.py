"""Each format's words for what happened, mapped to the portal's categories: the one table.

docs/abuse-formats.md shows it. A word not listed is `other`; a word listed as NOT_A_COMPLAINT is no
complaint about the sender at all (the report is rejected with that reason).
"""

from abuse.models import Category, ReportFormat

NOT_A_COMPLAINT = None

CATEGORIES: dict[str, dict[str, str | None]] = {
    # RFC 5965 Feedback-Type (RFC 6650 not-spam, RFC 6591 auth-failure are no complaints).
    ReportFormat.ARF: {
        "abuse": Category.SPAM,
        "fraud": Category.PHISHING,
        "virus": Category.MALWARE,
        "other": Category.OTHER,
        "not-spam": NOT_A_COMPLAINT,
        "auth-failure": NOT_A_COMPLAINT,
    },
    # X-ARF 0.2 Report-Type (with Category), as blocklist.de and CERTs send it.
    ReportFormat.X_ARF: {
        "spam": Category.SPAM,
        "phishing": Category.PHISHING,
        "fraud": Category.PHISHING,
        "malware": Category.MALWARE,
        "virus": Category.MALWARE,
        "login-attack": Category.COMPROMISED,
        "bot": Category.COMPROMISED,
        "botnet": Category.COMPROMISED,
        "ddos": Category.COMPROMISED,
        "portscan": Category.COMPROMISED,
        "spamtrap": Category.SPAMTRAP,
    },
    # XARF v4 "category/type", and the type alone; evidence_source spamtrap makes spam a trap hit.
    ReportFormat.XARF4: {
        "messaging/spam": Category.SPAM,
        "messaging/bulk_messaging": Category.SPAM,
        "content/phishing": Category.PHISHING,
        "content/fraud": Category.PHISHING,
        "content/malware": Category.MALWARE,
        "infrastructure/botnet": Category.COMPROMISED,
        "infrastructure/compromised_server": Category.COMPROMISED,
        "connection/login_attack": Category.COMPROMISED,
        "connection/ddos": Category.COMPROMISED,
        "connection/port_scan": Category.COMPROMISED,
        "messaging/spam+spamtrap": Category.SPAMTRAP,
    },
    # Microsoft's complaint mails and SpamCop reports are spam complaints by nature.
    ReportFormat.JMRP: {"complaint": Category.SPAM},
    ReportFormat.SPAMCOP: {"spam": Category.SPAM},
    # Spamhaus SBL listings: a spam source, or a hijacked / botnet one.
    ReportFormat.SPAMHAUS: {"sbl": Category.SPAM, "css": Category.SPAM, "xbl": Category.COMPROMISED},
}


def category_of(report_format: str, word: str) -> str | None:
    """The portal's category for the format's word; None: not a complaint about the sender."""
    return CATEGORIES[report_format].get(word.strip().lower().replace(" ", "-"), Category.OTHER)
