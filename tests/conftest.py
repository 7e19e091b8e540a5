import os

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import CustomerToken, User
from accounts.services import record_server, register_customer
from tests.dns_server import LoopbackDNS
from tests.parts import fail_if_part_missing, need_redis, require
from tests.request_answers import personal_server_answers
from tests.two_factor_support import force_login_verified


# Review fixtures, those of the automated checks (loopback DNS zone, web servers, settings), and the
# live stack's cluster and deployments.
@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The test client and the live server speak plain http; the HTTPS redirect is tested on its own.

    Set here, not in a fixture: SecurityMiddleware reads it once, when the (session-wide)
    live server builds its handler.
    """
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    fail_if_part_missing(item)


pytest_plugins = [
    "tests.parallel_workers",
    "tests.transactional_flush",
    "tests.review_fixtures",
    "tests.check_fixtures",
    "tests.browser_fixtures",
    "tests.harnesses.live_fixtures",
    "tests.abuse_fixtures",
]

# The public DNS the tests see: a few global addresses, and names that point inside.
TEST_ZONE = """
example.com.            60 IN A     93.184.215.14
example.com.            60 IN AAAA  2606:2800:21f:cb07:6820:80da:af6b:8b2c
www.example.com.        60 IN A     93.184.215.14
shop.example.org.       60 IN A     93.184.215.15
news.example.net.       60 IN A     93.184.215.16
private.example.com.    60 IN A     10.1.2.3
loopback.example.com.   60 IN A     127.0.0.1
cgnat.example.com.      60 IN A     100.64.1.1
mapped.example.com.     60 IN AAAA  ::ffff:a00:1
mixed.example.com.      60 IN A     93.184.215.14
mixed.example.com.      60 IN A     192.168.1.1
noaddress.example.com.  60 IN TXT   "v=spf1 -all"
"""

PASSWORD = "correct horse battery staple"
CUSTOMER_IPS = ["198.51.100.7", "2001:db8::7"]
OTHER_IPS = ["198.51.100.8"]
# The documentation ranges (RFC 5737, 3849), which the tests use as customers' public addresses.
TEST_CUSTOMER_NETWORKS = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]


@pytest.fixture(scope="session")
def loopback_dns():
    server = LoopbackDNS().start()
    server.resolver.add(TEST_ZONE)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def staff_pass_two_factor(monkeypatch):
    """Staff signed in by a test have passed the second factor too (tests/two_factor_support.py)."""
    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture(autouse=True)
def _test_settings(settings, loopback_dns, tmp_path_factory):
    """Every lookup the code makes goes to the loopback server, never to the Internet."""
    settings.PORTAL_DNS_NAMESERVERS = [loopback_dns.nameserver]
    settings.PORTAL_DNS_TIMEOUT = 2.0
    # A scrape of /metrics waits this long for workers to answer its broadcast (1 s deployed); no test
    # asserts an answer in-process from a worker (tests/test_metrics.py asserts none, with its own 0.2 s).
    settings.PORTAL_METRICS_INSPECT_TIMEOUT = 0.05
    # A deliberately slow hash protects real passwords; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # API throttle counters live in the cache: each test starts with none.
    cache.clear()
    # Hashed file names need collectstatic; tests serve the source files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Not the checkout's var/staticfiles, which the live stack collects into (tests/harnesses/live_stack.py) while
    # another xdist worker's WhiteNoise would be reading it: a folder nobody writes.
    settings.STATIC_ROOT = tmp_path_factory.getbasetemp() / "no-static-root"


@pytest.fixture(autouse=True)
def _mail_sent_in_process(request, monkeypatch):
    """Tests that read mail.outbox: the mail task runs in this process as its hook is called.

    The path through the broker and a real worker, with retries against a real SMTP server, is
    tested in tests/test_mail_after_commit.py (mark `mail_through_worker`).
    """
    if request.node.get_closest_marker("mail_through_worker") is None:
        from accounts.tasks import mail_password_reset
        from common.outgoing_mail import send_mail_task

        monkeypatch.setattr(send_mail_task, "delay", send_mail_task)
        monkeypatch.setattr(mail_password_reset, "delay", mail_password_reset)


def redis_url(db: int) -> str:
    """Database `db` of this worker's block of the Redis that scripts/test starts (tests/parallel_workers.py).

    PORTAL_REDIS_URL names the block's first database, which the broker uses. Without it the test
    stops as tests/parts.py says (fails in CI, skips elsewhere).
    """
    require(need_redis())
    base, first = os.environ["PORTAL_REDIS_URL"].rsplit("/", 1)
    return f"{base}/{int(first) + db}"


def make_customer(email: str, account_name: str, server_id: str, ips: list[str]) -> User:
    user = register_customer(email, PASSWORD, account_name)
    record_server(user.membership.account, server_id, f"{server_id}.example.com", ips)
    return user


@pytest.fixture
def customer_networks_allowed(settings) -> None:
    """The test customers' documentation addresses pass as public only because the tests allow them."""
    settings.PORTAL_CHECK_ALLOW_NETWORKS = [*settings.PORTAL_CHECK_ALLOW_NETWORKS, *TEST_CUSTOMER_NETWORKS]


@pytest.fixture
def customer(db, customer_networks_allowed) -> User:
    return make_customer("alice@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS)


@pytest.fixture
def account(customer):
    return customer.membership.account


@pytest.fixture
def other_customer(db, customer_networks_allowed) -> User:
    return make_customer("bob@globex.test", "Globex", "vm-globex-1", OTHER_IPS)


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def api_client(customer) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=customer, name='tests')[1]}")
    return api


def answers(**overrides) -> dict:
    """Valid answers for a small personal mail server of the `customer` fixture."""
    return personal_server_answers(
        **{
            "company_name": "Acme",
            "company_website": "https://example.com",
            "sending_domain": "example.com",
            "mail_server_hostname": "mail.example.com",
            "mail_server_ip": CUSTOMER_IPS[0],
            **overrides,
        }
    )


def marketing_answers(**overrides) -> dict:
    data = answers(
        use_case="marketing",
        daily_volume=5000,
        use_case_description="Monthly newsletter to our customers.",
        optin_description="Double opt-in from the sign-up form on example.com.",
        email_template="<p>Hello {name}</p><p>Acme, 1 Main St, Springfield</p>"
        '<a href="https://example.com/unsubscribe">Unsubscribe</a>',
        unsubscribe_url="https://example.com/unsubscribe",
    )
    data.update(overrides)
    return data
