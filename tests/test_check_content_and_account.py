"""Template content and account signals: pure checks over what the customer and the account show."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.check_fixtures import good_account, make_subject
from verification.checks import account_signals, template_content
from verification.outcome import Deadline, Verdict

GOOD = (
    "<p>Hello {name}, here is the Acme Mail newsletter.</p>"
    "<p>Acme Mail, 1 Main Street, Springfield</p>"
    '<a href="https://www.acme-mail.example.org/unsubscribe">Unsubscribe</a>'
)


def content(template: str, marketing: bool = True):
    return template_content.check(make_subject(email_template=template, marketing=marketing), Deadline(1))


def test_complete_marketing_template_passes():
    outcome = content(GOOD)
    assert outcome.verdict == Verdict.PASS, outcome.summary
    assert outcome.evidence["linked_hosts"] == ["www.acme-mail.example.org"]


@pytest.mark.parametrize(
    ("template", "words"),
    [
        (GOOD.replace("Unsubscribe", "Manage").replace("unsubscribe", "prefs"), "unsubscribe link"),
        (GOOD.replace("1 Main Street, Springfield", "somewhere"), "postal address"),
        ("", "needs an example email"),
    ],
)
def test_marketing_requirements_fail(template, words):
    outcome = content(template)
    assert outcome.verdict == Verdict.FAIL
    assert words in outcome.summary


@pytest.mark.parametrize(
    ("extra", "sign"),
    [
        ("<p>ACT NOW, 100% FREE!!!</p>", "phrase “100% free”"),
        ('<a href="https://bit.ly/x">x</a>', "link shortener bit.ly"),
        ("<p>" + "BUY THIS GREAT THING TODAY " * 4 + "</p>", "many words in capitals"),
    ],
)
def test_spam_signs_warn(extra, sign):
    outcome = content(GOOD + extra)
    assert outcome.verdict == Verdict.WARN
    assert sign in outcome.evidence["spam_signs"]


def test_unnamed_sender_warns():
    outcome = content(GOOD.replace("Acme Mail", "We").replace("acme-mail", "other"))
    assert outcome.verdict == Verdict.WARN
    assert "Acme Mail" in outcome.summary


def test_transactional_template_needs_no_unsubscribe_link():
    assert content("<p>Your Acme Mail receipt</p>", marketing=False).verdict == Verdict.PASS


def test_template_check_applies_to_marketing_or_a_given_template():
    assert template_content.applies(make_subject(marketing=True))
    assert template_content.applies(make_subject(email_template="Hi"))
    assert not template_content.applies(make_subject())


def signals(**facts):
    return account_signals.check(make_subject(account=good_account(**facts)), Deadline(1))


def test_verified_old_account_passes():
    assert signals().verdict == Verdict.PASS


@pytest.mark.parametrize(
    ("facts", "verdict", "words"),
    [
        ({"revoked_for_abuse": True}, Verdict.FAIL, "abuse"),
        ({"missing_verifications": ["identity verification"]}, Verdict.WARN, "complete identity verification in"),
        (
            {"missing_verifications": ["identity verification", "payment method verification"]},
            Verdict.WARN,
            "complete identity verification and payment method verification in",
        ),
        ({"earlier_rejections": 2}, Verdict.WARN, "2 earlier requests"),
        ({"created_at": timezone.now() - timedelta(days=2)}, Verdict.WARN, "2 days old"),
    ],
)
def test_account_signals(facts, verdict, words):
    outcome = signals(**facts)
    assert outcome.verdict == verdict
    assert words in outcome.summary
