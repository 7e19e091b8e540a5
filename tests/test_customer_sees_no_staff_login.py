"""Finding 7 of the security probe: the customer's timeline and API showed "Assigned to reviewer@demo.test".
Customers read "a reviewer"; staff's own timeline keeps who did what."""

import pytest
from django.test import Client

from requests_app import review
from requests_app.models import RequestEvent
from tests.review_fixtures import awaiting


@pytest.fixture
def taken(account, customer, reviewer, second_reviewer):
    request = awaiting(account, customer)
    review.assign(request.pk, reviewer, reviewer)
    review.assign(request.pk, reviewer, second_reviewer)
    review.assign(request.pk, second_reviewer, None)
    review.assign(request.pk, second_reviewer, second_reviewer)
    return request


def test_the_customers_page_and_api_name_no_staff_login(customer_client, api_client, taken, reviewer, second_reviewer):
    page = customer_client.get(f"/requests/{taken.pk}/").content.decode()
    answer = api_client.get(f"/api/v1/requests/{taken.pk}/").content.decode()
    listing = api_client.get("/api/v1/requests/").content.decode()

    for body in (page, answer, listing):
        assert reviewer.email not in body and second_reviewer.email not in body
        assert "provider.test" not in body
    assert page.count("A reviewer is looking at your request.") == 3, "three assignments; the release is left out"
    assert "A reviewer is looking at your request." in answer


def test_staff_still_see_who_had_the_request(taken, reviewer, second_reviewer, django_user_model):
    assignments = RequestEvent.objects.filter(request=taken, kind=RequestEvent.Kind.ASSIGNMENT)
    messages = list(assignments.values_list("message", flat=True))

    assert messages[0] == f"Assigned to {reviewer.email}."
    superuser = Client()
    superuser.force_login(django_user_model.objects.create_superuser("root@provider.test", "pw-not-used"))
    assert second_reviewer.email in superuser.get("/admin/requests_app/requestevent/").content.decode()
