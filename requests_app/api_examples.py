"""Realistic examples of the customer API for /api/docs/: what a small mail server's owner sends and reads."""

from drf_spectacular.utils import OpenApiExample

PORT25_BLOCKED = OpenApiExample(
    "Blocked, a request under review",
    value={
        "account": "7d3c1f4e-2b9a-4c1e-9f4a-5b8e2d6c0a11",
        "state": "pending",
        "label": "Pending",
        "reason": "Request #42 is being reviewed.",
        "open_request": 42,
        "missing_verifications": [],
    },
    response_only=True,
)
PORT25_OPEN = OpenApiExample(
    "Open",
    value={
        "account": "7d3c1f4e-2b9a-4c1e-9f4a-5b8e2d6c0a11",
        "state": "open",
        "label": "Open",
        "reason": "Request #42 approved.",
        "open_request": None,
        "missing_verifications": [],
    },
    response_only=True,
)
NEW_REQUEST = OpenApiExample(
    "A personal mail server",
    value={
        "company_name": "Jane Doe",
        "company_website": "",
        "sending_domain": "doe-family.example.com",
        "daily_volume": 20,
        "use_case": "personal",
        "use_case_description": "Mail server for our family of five: a few mails a day each.",
        "optin_description": "",
        "email_template": "",
        "unsubscribe_url": "",
        "mail_software": "postfix",
        "mail_software_other": "",
        "mail_server_hostname": "mail.doe-family.example.com",
        "mail_server_ip": "203.0.113.25",
        "threat_mitigation": "ClamAV on all mail, rspamd scoring outbound mail, fail2ban on SASL log-ins.",
        "accept_aup": True,
    },
    request_only=True,
)
