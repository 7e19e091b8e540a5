"""Valid answers of a small personal mail server's request; plain data, importable without Django."""


def personal_server_answers(**overrides: object) -> dict:
    """The customer-specific answers (company, names, the sending IP) come as overrides."""
    answers = {
        "daily_volume": 20,
        "use_case": "personal",
        "use_case_description": "Family mail server for five people.",
        "optin_description": "",
        "email_template": "",
        "unsubscribe_url": "",
        "mail_software": "postfix",
        "mail_software_other": "",
        "threat_mitigation": "ClamAV on all mail, rspamd outbound, fail2ban on SASL.",
        "accept_aup": True,
    }
    answers.update(overrides)
    return answers
