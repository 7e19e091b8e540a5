"""Rejection reasons reviewers pick from on day one; staff edit or retire them in the admin."""

from django.db import migrations

REASONS = [
    (
        "Open relay",
        "Your mail server relays mail for anyone (an open relay). Restrict relaying to your own users, "
        "then file a new request.",
    ),
    (
        "No SPF, DMARC or MX",
        "Your sending domain does not publish the SPF, DMARC and MX records receivers expect. "
        "Publish them, then file a new request.",
    ),
    (
        "Reverse DNS does not match",
        "The reverse DNS (PTR) of your sending address does not name your mail server, or that name does "
        "not point back to the address. Set the PTR in the control panel, then file a new request.",
    ),
    (
        "Listed on a blocklist",
        "Your address or domain is listed on a blocklist we rely on. Ask the list to remove it, then file a "
        "new request.",
    ),
    (
        "No proof of consent",
        "You did not show how the recipients agreed to get your mail. Bulk and marketing mail needs "
        "confirmed opt-in and a working unsubscribe link.",
    ),
    (
        "Use a mail delivery service",
        "What you describe is better served by a mail delivery service (a smart host on port 587); "
        "port 25 stays closed.",
    ),
    (
        "Incomplete answers",
        "We could not judge your request from the answers given. Please file a new request that describes "
        "what you send, to whom and how much.",
    ),
    (
        "Abuse history",
        "Abuse reports about this account weigh against opening port 25 now.",
    ),
]


def seed(apps, schema_editor):
    ReasonTemplate = apps.get_model("requests_app", "ReasonTemplate")
    for title, text in REASONS:
        ReasonTemplate.objects.get_or_create(title=title, defaults={"text": text})


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0002_review")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
