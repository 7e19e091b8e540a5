"""What the fault tests (tests/test_faults_*.py) look at: what an operator would see from outside.

SQL against the database, the admin's pages, a customer's API call and a reviewer's Approve button.
Their deployments come from the `deploy` fixture (tests/harnesses/live_fixtures.py).
"""

import re

from tests.harnesses.live_services import missing_for_stack, wait_for
from tests.harnesses.live_stack import Client
from tests.parts import missing

MISSING = missing_for_stack()
live = missing(MISSING)

APPROVED_MESSAGE = "port 25 is being opened"
CHANGE_ROW = re.compile(r"/admin/egress/egresschange/(\d+)/change/")


# --- what the tests look at -------------------------------------------------------------------


def status_of(portal, request_id: int) -> str:
    return portal.scalar("SELECT status FROM requests_app_unblockrequest WHERE id = %s", (request_id,))


def statuses(portal, ids) -> dict[int, str]:
    return dict(portal.sql("SELECT id, status FROM requests_app_unblockrequest WHERE id = ANY(%s)", (list(ids),)))


def wait_until_reviewable(portal, ids, seconds: float = 60) -> None:
    wanted = dict.fromkeys(ids, "awaiting_review")
    wait_for(lambda: statuses(portal, wanted) == wanted, seconds, portal.output, step=0.2)


def allowed(portal, target: str = "default") -> list[str]:
    rows = portal.sql("SELECT host(ip) FROM egress_simulatedallowance WHERE target = %s ORDER BY 1", (target,))
    return [ip for (ip,) in rows]


def outbox(portal) -> list[tuple]:
    """(target, account, status, attempts, key, last error) of every outbox row."""
    return portal.sql(
        "SELECT target, account_id, status, attempts, key::text, last_error FROM egress_egresschange ORDER BY id"
    )


def decisions(portal, account: int) -> list[tuple]:
    return portal.sql(
        "SELECT from_state, to_state, source FROM egress_egressdecision WHERE account_id = %s ORDER BY id", (account,)
    )


def file_request(portal, customer: dict) -> int:
    response = Client(portal.url, token=customer["token"]).file_request(customer["ips"][0])
    assert response.status_code == 201, response.text[:1000]
    return response.json()["id"]


def approve(reviewer: Client, request_id: int, *, follow: bool = True) -> bool:
    """The reviewer's Approve button; True when the page the browser lands on confirms it."""
    response = reviewer.approve(request_id)
    if response.status_code != 302:
        return False
    if not follow:
        return True
    return APPROVED_MESSAGE in reviewer.get(response.headers["Location"]).text


def pending_in_admin(admin: Client) -> set[int]:
    """The outbox rows the egress admin lists as pending (what an operator sees during an outage)."""
    page = admin.get("/admin/egress/egresschange/?status__exact=pending")
    assert page.status_code == 200, page.text[:2000]
    return {int(pk) for pk in CHANGE_ROW.findall(page.text)}


def pending_ids(portal) -> set[int]:
    return {pk for (pk,) in portal.sql("SELECT id FROM egress_egresschange WHERE status = 'pending'")}
