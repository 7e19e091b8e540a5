"""Who may reach what: every page and endpoint, for every kind of caller, with the status expected.

Roles: anonymous, a customer of another account, the owning customer, a support reviewer,
the abuse desk, a superuser. A row is (name, method, url template, expected status per role);
`{req}` is the owning customer's open request. Adding a URL is adding a row.
"""

import pytest
from django.test import Client

from accounts.models import CustomerToken, User
from tests.review_fixtures import awaiting

ROLES = ("anonymous", "other", "owner", "reviewer", "abuse_desk", "superuser")
LOGIN, NOT_FOUND, OK, REDIRECT, FORBIDDEN, UNAUTHORISED = 302, 404, 200, 302, 403, 401
ADMIN_LOGIN = {"anonymous": LOGIN, "other": LOGIN, "owner": LOGIN}
STAFF_404 = {"reviewer": NOT_FOUND, "abuse_desk": NOT_FOUND, "superuser": NOT_FOUND}

MATRIX = [
    ("port-25 page", "get", "/", {"anonymous": LOGIN, "other": OK, "owner": OK, **STAFF_404}),
    ("new request form", "get", "/requests/new/", {"anonymous": LOGIN, "other": OK, "owner": REDIRECT, **STAFF_404}),
    ("request page", "get", "/requests/{req}/", {"anonymous": LOGIN, "other": NOT_FOUND, "owner": OK, **STAFF_404}),
    (
        "request checks",
        "get",
        "/requests/{req}/checks/",
        {"anonymous": LOGIN, "other": NOT_FOUND, "owner": OK, **STAFF_404},
    ),
    (
        "withdraw: confirmation",
        "get",
        "/requests/{req}/withdraw/",
        {"anonymous": LOGIN, "other": NOT_FOUND, "owner": OK, **STAFF_404},
    ),
    (
        "withdraw",
        "post",
        "/requests/{req}/withdraw/",
        {"anonymous": LOGIN, "other": NOT_FOUND, "owner": REDIRECT, **STAFF_404},
    ),
    (
        "answer",
        "post",
        "/requests/{req}/answer/",
        {"anonymous": LOGIN, "other": NOT_FOUND, "owner": REDIRECT, **STAFF_404},
    ),
    (
        "re-run checks",
        "post",
        "/requests/{req}/checks/rerun/",
        {"anonymous": LOGIN, "other": NOT_FOUND, "owner": REDIRECT, **STAFF_404},
    ),
    ("API tokens page", "get", "/accounts/api-tokens/", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], OK)}),
    ("acceptable use", "get", "/acceptable-use/", dict.fromkeys(ROLES, OK)),
    ("API: port 25", "get", "/api/v1/port25/", {"anonymous": UNAUTHORISED, "other": OK, "owner": OK, **STAFF_404}),
    ("API: requests", "get", "/api/v1/requests/", {"anonymous": UNAUTHORISED, "other": OK, "owner": OK, **STAFF_404}),
    (
        "API: request",
        "get",
        "/api/v1/requests/{req}/",
        {"anonymous": UNAUTHORISED, "other": NOT_FOUND, "owner": OK, **STAFF_404},
    ),
    (
        "API: withdraw",
        "post",
        "/api/v1/requests/{req}/withdraw/",
        {"anonymous": UNAUTHORISED, "other": NOT_FOUND, "owner": OK, **STAFF_404},
    ),
    (
        "API: platform server",
        "get",
        "/api/v1/platform/servers/vm-acme-1/",
        dict.fromkeys(ROLES, UNAUTHORISED),
    ),
    ("API schema", "get", "/api/schema/", dict.fromkeys(ROLES, OK)),
    ("API docs", "get", "/api/docs/", dict.fromkeys(ROLES, OK)),
    (
        "admin: review queue",
        "get",
        "/admin/requests_app/unblockrequest/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": OK, "superuser": OK},
    ),
    (
        "admin: review page",
        "get",
        "/admin/requests_app/unblockrequest/{req}/change/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": OK, "superuser": OK},
    ),
    (
        "admin: take",
        "post",
        "/admin/requests_app/unblockrequest/{req}/review/take/",
        {**ADMIN_LOGIN, "reviewer": REDIRECT, "abuse_desk": FORBIDDEN, "superuser": REDIRECT},
    ),
    (
        "admin: approve page",
        "get",
        "/admin/requests_app/unblockrequest/{req}/review/approve/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": FORBIDDEN, "superuser": OK},
    ),
    (
        "admin: new recovery codes",
        "get",
        "/admin/two-factor/recovery-codes/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": OK, "superuser": OK},
    ),
    (
        "admin: dashboard",
        "get",
        "/admin/requests_app/unblockrequest/dashboard/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": OK, "superuser": OK},
    ),
    (
        "admin: egress states",
        "get",
        "/admin/egress/accountegress/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": OK, "superuser": OK},
    ),
    (
        "admin: accounts",
        "get",
        "/admin/accounts/account/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": OK, "superuser": OK},
    ),
    (
        "admin: users",
        "get",
        "/admin/accounts/user/",
        {**ADMIN_LOGIN, "reviewer": FORBIDDEN, "abuse_desk": FORBIDDEN, "superuser": OK},
    ),
    (
        "admin: audit log",
        "get",
        "/admin/requests_app/requestevent/",
        {**ADMIN_LOGIN, "reviewer": OK, "abuse_desk": FORBIDDEN, "superuser": OK},
    ),
]


@pytest.fixture
def callers(customer, other_customer, reviewer, abuse_desk, admin_user) -> dict[str, User | None]:
    return {
        "anonymous": None,
        "other": other_customer,
        "owner": customer,
        "reviewer": reviewer,
        "abuse_desk": abuse_desk,
        "superuser": admin_user,
    }


def client_for(user: User | None, api: bool) -> Client:
    if user is not None and api and not user.is_staff:
        return Client(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=user, name='matrix')[1]}")
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "expected"), MATRIX, ids=[row[0] for row in MATRIX])
def test_access(callers, account, customer, role, name, method, url, expected):
    request = awaiting(account, customer)  # so that every staff action may be offered: the matrix is about roles
    api = url.startswith("/api/v1/")
    response = getattr(client_for(callers[role], api), method)(url.format(req=request.pk))
    assert response.status_code == expected[role], f"{name} as {role}"
