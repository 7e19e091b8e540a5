"""Which answers each use case must give: one table for the server, the form and its script."""

from django.conf import settings
from django.utils.translation import gettext as _

from requests_app.models import UseCase

REQUIRED = "required"
OPTIONAL = "optional"
CONDITIONAL_FIELDS = ("company_website", "email_template", "unsubscribe_url", "optin_description")

# A person running their own mail server has no company website to give ("I don't have a company").
_PERSONAL = {"company_website": OPTIONAL}
_COMPANY = {"company_website": REQUIRED}
_BY_USE_CASE: dict[str, dict[str, str]] = {
    UseCase.PERSONAL: _PERSONAL,
    UseCase.TRANSACTIONAL: {**_COMPANY, "email_template": REQUIRED, "unsubscribe_url": OPTIONAL},
    UseCase.MARKETING: {
        **_COMPANY,
        "email_template": REQUIRED,
        "unsubscribe_url": REQUIRED,
        "optin_description": REQUIRED,
    },
    UseCase.FORWARDING: _COMPANY,
    UseCase.OTHER: {**_COMPANY, "email_template": REQUIRED, "unsubscribe_url": OPTIONAL},
}
# A personal server is not a personal server any more at this volume: show what it sends.
_PERSONAL_ABOVE_LIMIT = {**_PERSONAL, "email_template": REQUIRED}


def asked_fields(use_case: str, daily_volume: int | None) -> dict[str, str]:
    """The conditional answers this use case asks for, each REQUIRED or OPTIONAL."""
    if use_case == UseCase.PERSONAL and (daily_volume or 0) > settings.PORTAL_PERSONAL_VOLUME_LIMIT:
        return _PERSONAL_ABOVE_LIMIT
    return _BY_USE_CASE.get(use_case, _COMPANY)


def rules_for_browser() -> dict:
    """The same table, for the form's script that shows and hides fields."""
    return {
        "conditional": list(CONDITIONAL_FIELDS),
        "before_a_use_case": _COMPANY,
        "personal_volume_limit": settings.PORTAL_PERSONAL_VOLUME_LIMIT,
        "by_use_case": {str(k): v for k, v in _BY_USE_CASE.items()},
        "personal_above_limit": _PERSONAL_ABOVE_LIMIT,
    }


def apply_use_case_rules(data: dict) -> dict[str, str]:
    """Blank the answers the use case does not ask for; return an error per missing required answer."""
    asked = asked_fields(data.get("use_case", ""), data.get("daily_volume"))
    errors = {}
    for field in CONDITIONAL_FIELDS:
        if field not in asked:
            data[field] = ""
        elif asked[field] == REQUIRED and not (data.get(field) or "").strip():
            errors[field] = _missing_message(field)
    if data.get("mail_software") == "other" and not (data.get("mail_software_other") or "").strip():
        errors["mail_software_other"] = _("Name the mail server software you run.")
    elif data.get("mail_software") != "other":
        data["mail_software_other"] = ""
    return errors


def _missing_message(field: str) -> str:
    return {
        "company_website": _("Give your company's website; reviewers compare it with your sending domain."),
        "email_template": _("Paste an example of the email you will send; reviewers need it for this use case."),
        "unsubscribe_url": _("Give the link recipients use to unsubscribe; newsletters must have one."),
        "optin_description": _("Explain how recipients asked to receive your newsletter."),
    }[field]
