"""Issue 23.8, decided: /api/schema/ and /api/docs/ stay public. They describe the API's shape, which the
docs publish anyway, and no stored data; the platform, reporters and customers' scripts read them without
a browser session. Pinned here: anyone may read them, and they hold nothing from the database nor any
staff-only path, whatever is stored."""

import pytest
from django.test import Client

from abuse.models import Reporter
from accounts.models import PlatformToken
from requests_app.models import ReasonTemplate

STORED = ["Zanzibar Widgets Ltd", "zelda@zanzibar.test", "Zanzibar reason text", "Zanzibar FBL", "zanzibar-platform"]


@pytest.fixture
def stored_data(django_user_model, customer):
    customer.membership.account.name = STORED[0]
    customer.membership.account.save()
    django_user_model.objects.create_user(STORED[1], "pw-not-used")
    ReasonTemplate.objects.create(title="Zanzibar", text=STORED[2])
    Reporter.objects.create(name=STORED[3])
    PlatformToken.issue(name=STORED[4])


@pytest.mark.parametrize("url", ["/api/schema/", "/api/schema/?format=json", "/api/docs/"])
def test_anyone_reads_the_api_description_and_it_holds_no_stored_data(stored_data, url):
    response = Client().get(url)

    assert response.status_code == 200
    text = response.content.decode()
    assert not [value for value in STORED if value.lower() in text.lower()]
    assert "/admin/" not in text
