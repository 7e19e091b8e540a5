"""Filing a request: one open request per account, none when port 25 is already open."""

import threading

import pytest
from django.db import connection

from egress.models import AccountEgress, EgressSource, EgressState
from requests_app.models import Status, UnblockRequest
from requests_app.services import RequestNotAllowed, submit_request, withdraw_request
from tests.conftest import answers
from tests.parts import missing, need_postgres


def test_submission_stores_answers_and_a_first_event(account, customer):
    request = submit_request(account, customer, answers())
    assert request.status == Status.SUBMITTED
    assert request.company_name == "Acme"
    assert request.aup_accepted_at is not None
    assert [e.to_status for e in request.events.all()] == [Status.SUBMITTED]


def test_second_open_request_is_refused(account, customer):
    submit_request(account, customer, answers())
    with pytest.raises(RequestNotAllowed, match="already has an open request"):
        submit_request(account, customer, answers())
    assert UnblockRequest.objects.filter(account=account).count() == 1


def test_a_new_request_is_possible_after_withdrawal(account, customer):
    first = submit_request(account, customer, answers())
    withdraw_request(first, customer)
    second = submit_request(account, customer, answers())
    assert second.pk != first.pk


def test_account_with_open_port_cannot_file(account, customer):
    AccountEgress.objects.create(account=account, desired=EgressState.ALLOWED, source=EgressSource.REQUEST)
    with pytest.raises(RequestNotAllowed, match="already open"):
        submit_request(account, customer, answers())
    assert not UnblockRequest.objects.exists()


def test_database_refuses_two_open_requests_even_without_the_service(account, customer):
    from django.db import IntegrityError

    submit_request(account, customer, answers())
    fields = {k: v for k, v in answers().items() if k != "accept_aup"}
    with pytest.raises(IntegrityError):
        UnblockRequest.objects.create(
            account=account, created_by=customer, aup_accepted_at="2026-01-01T00:00Z", **fields
        )


@missing(need_postgres("row locks"))
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_file_exactly_one(customer):
    account = customer.membership.account
    barrier = threading.Barrier(4)
    outcomes = []

    def file_one() -> None:
        barrier.wait()
        try:
            submit_request(account, customer, answers())
            outcomes.append("filed")
        except RequestNotAllowed:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=file_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["filed", "refused", "refused", "refused"]
    assert UnblockRequest.objects.filter(account=account).count() == 1
