"""What a customer is told in their first hour: when they must act, what is missing and where, no surprises."""

from django.urls import reverse

from accounts.services import record_server, register_customer
from requests_app import review
from requests_app.models import Status
from requests_app.review import ask_for_information
from requests_app.services import submit_request
from tests.conftest import PASSWORD, answers
from tests.review_fixtures import awaiting, finished_run


def test_the_headline_says_when_the_customer_must_answer(customer_client, account, customer, reviewer):
    request = awaiting(account, customer)
    page = customer_client.get("/").content.decode()
    assert "Pending review" in page and 'data-testid="act-now"' not in page

    ask_for_information(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Which host?")
    page = customer_client.get("/").content.decode()
    assert "Waiting for your answer" in page and "Pending review" not in page
    assert 'data-testid="act-now"' in page and "Answer the question" in page


def test_missing_verifications_link_to_the_control_panel_and_go_once_decided(
    customer_client, account, customer, settings
):
    settings.PORTAL_VERIFICATION_URL = "https://panel.provider.example/verify"
    request = submit_request(account, customer, answers())
    page = customer_client.get(reverse("request_detail", args=[request.pk])).content.decode()
    assert "identity verification" in page and 'href="https://panel.provider.example/verify"' in page

    customer_client.post(reverse("request_withdraw", args=[request.pk]))
    page = customer_client.get(reverse("request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="missing-verifications"' not in page


def test_withdraw_asks_first_and_only_a_post_withdraws(customer_client, account, customer):
    request = submit_request(account, customer, answers())
    url = reverse("request_withdraw", args=[request.pk])
    confirm = customer_client.get(url)
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.content.decode()
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    customer_client.post(url)
    request.refresh_from_db()
    assert request.status == Status.WITHDRAWN
    assert "already closed" in customer_client.get(url).content.decode()


def test_mail_links_follow_the_base_url(
    settings, account, customer, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8123/"
    request = awaiting(account, customer)
    with django_capture_on_commit_callbacks(execute=True):
        ask_for_information(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Which host?")
    assert f"http://127.0.0.1:8123/requests/{request.pk}/" in mailoutbox[-1].body


def test_checks_say_a_sentence_not_json_nor_a_key_value_dump(customer_client, account, customer):
    request = awaiting(account, customer)
    run = finished_run(request, ["warn"], ["account_signals"])
    sentence = "Your identity is not verified yet; complete it in the control panel."
    run.results.update(summary=sentence, evidence={"identity_verified": False, "mx_hosts": ["a.example"]})
    page = customer_client.get(reverse("request_detail", args=[request.pk])).content.decode()
    assert sentence in page
    assert "&quot;identity_verified&quot;" not in page and "Identity verified: no" not in page


def test_an_account_without_servers_is_told_how_servers_get_listed(client, db, settings, customer_networks_allowed):
    settings.PORTAL_SERVERS_URL = "https://panel.provider.example/servers"
    user = register_customer("new@startup.test", PASSWORD, "Startup")
    client.force_login(user)
    form = client.get(reverse("request_new")).content.decode()
    assert 'data-testid="no-servers"' in form and 'id="request-form"' not in form
    assert 'href="https://panel.provider.example/servers"' in form
    assert "has no servers yet" in client.get("/").content.decode()

    record_server(user.membership.account, "vm-1", "mail.startup.example", ["198.51.100.60"])
    form = client.get(reverse("request_new")).content.decode()
    assert '<option value="198.51.100.60">' in form and 'data-testid="no-servers"' not in form
    assert "mail.startup.example" in client.get("/").content.decode()


def test_the_timeline_shows_the_decision_once_and_no_staff_note(customer_client, account, customer, admin_user):
    request = awaiting(account, customer, verified=False)
    review.approve(
        request.pk, admin_user, expected_status=Status.AWAITING_REVIEW, note="Welcome aboard!", override="Phoned them."
    )
    page = customer_client.get(reverse("request_detail", args=[request.pk])).content.decode()
    assert page.count("Welcome aboard!") == 1
    assert "Phoned them." not in page and "Approved without" not in page
