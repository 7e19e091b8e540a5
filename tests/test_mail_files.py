"""Mail kept as .eml files (PORTAL_MAIL_FOLDER, the embedded default) and `manage.py sent_mail` listing them."""

from email import message_from_bytes, policy
from io import StringIO

from django.core.mail import send_mail
from django.core.management import call_command

from requests_app import review
from requests_app.models import Status
from tests.egress_support import eager_tasks
from tests.review_fixtures import awaiting


def run(*args: str) -> str:
    out = StringIO()
    call_command("sent_mail", *args, stdout=out)
    return out.getvalue()


def test_each_message_is_an_eml_file_and_the_command_lists_them(settings, tmp_path):
    settings.EMAIL_BACKEND = "common.mail_files.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    send_mail("Première", "Bonjour,\nport 25 est ouvert.", "port25@provider.test", ["alice@acme.test"])
    send_mail("Second", "Two", "port25@provider.test", ["bob@acme.test"])

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2 and not list(tmp_path.glob(".*"))
    first = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert (first["Subject"], first["To"]) == ("Première", "alice@acme.test")
    assert "port 25 est ouvert" in first.get_body().get_content()

    listing = run()
    assert "alice@acme.test  Première" in listing and "bob@acme.test  Second" in listing
    assert listing.index("Première") < listing.index("Second")
    assert "port 25 est ouvert." in run("--show", "1")


def test_the_approval_mail_is_kept_with_the_reviewers_note(
    settings, tmp_path, reviewer, account, customer, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "common.mail_files.EmlFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    request = awaiting(account, customer)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, note="Welcome; keep SPF strict.")
    assert "Welcome; keep SPF strict." in run("--show", "1")


def test_nothing_kept_says_how_to_keep_it(settings):
    settings.EMAIL_FILE_PATH = ""
    assert "set PORTAL_MAIL_FOLDER" in run()
