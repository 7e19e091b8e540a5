"""/api/docs/ leads with what customers use: their endpoints first, each with a summary, and examples."""

import json

import pytest


@pytest.fixture
def schema(client, db) -> dict:
    return json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)


def test_the_customer_endpoints_come_first_in_the_schema_and_its_tags(schema):
    assert [tag["name"] for tag in schema["tags"]] == ["port25", "requests", "platform", "abuse"]
    paths = list(schema["paths"])
    assert paths[:3] == ["/api/v1/port25/", "/api/v1/requests/", "/api/v1/requests/{id}/"]
    assert paths.index("/api/v1/requests/{id}/withdraw/") < min(
        paths.index(p) for p in paths if p.startswith(("/api/v1/platform/", "/api/v1/abuse/"))
    )


def test_every_customer_operation_has_a_summary_and_the_main_ones_an_example(schema):
    customer = {
        (path, method): operation
        for path, operations in schema["paths"].items()
        if path.startswith(("/api/v1/port25/", "/api/v1/requests/"))
        for method, operation in operations.items()
    }
    assert len(customer) == 5
    assert all(operation.get("summary") for operation in customer.values())
    port25 = customer[("/api/v1/port25/", "get")]["responses"]["200"]["content"]["application/json"]["examples"]
    assert {example["value"]["state"] for example in port25.values()} == {"pending", "open"}
    create = customer[("/api/v1/requests/", "post")]["requestBody"]["content"]["application/json"]["examples"]
    [example] = create.values()
    assert example["value"]["use_case"] == "personal" and example["value"]["mail_server_ip"]
