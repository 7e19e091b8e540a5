"""The portal in its production shape, as real processes on loopback, for the load and fault tests.

A `Cluster` is a PostgreSQL server of its own (initdb + pg_ctl in a temporary folder, as the
`postgres` OS user when run as root, like scripts/test) with the schema migrated once into a
template database. A `Portal` is one throw-away deployment on it: a database copied from the
template, its own redis-server, gunicorn serving portal.wsgi and Celery workers (with beat), all
on free loopback ports, started with the environment production uses. The servers and processes
themselves (and the check that the machine has them) are in tests/harnesses/live_services.py.

The tests observe the result the way an operator would: HTTP against gunicorn, and SQL against
the database (psycopg, outside Django). `python -m tests.harnesses.live_stack seed '<json>'` is the seeding
step, run inside the deployment's environment.
"""

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from tests.harnesses.live_services import ROOT, Postgres, Redis, Service, gunicorn_bin, wait_for
from tests.loopback import free_port
from tests.request_answers import personal_server_answers

PASSWORD = "load-test password 25"  # every seeded log-in (customers, reviewers, superuser)
SECRET_KEY = "live-stack-secret-key-not-for-production-6f1c2d9e8a7b"

# What the checks look at (tests/check_fixtures.py serves these names on the loopback DNS).
MAIL_DOMAIN = "acme-mail.example.org"
MAIL_SERVER = f"mail.{MAIL_DOMAIN}"


# --- the cluster and the deployments on it ----------------------------------------------------


class Cluster:
    """PostgreSQL with the schema migrated into `portal_template`, static files collected."""

    TEMPLATE = "portal_template"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="portal-stack-"))
        self.folder.chmod(0o755)  # the postgres OS user must reach its folder inside
        self.postgres = Postgres(self.folder)
        self.portals: list[Portal] = []

    def start(self) -> "Cluster":
        self.postgres.start()
        with self.postgres.admin() as conn:
            conn.execute(f"CREATE DATABASE {self.TEMPLATE} OWNER portal")
        env = {**clean_environ(), "DATABASE_URL": self.postgres.url(self.TEMPLATE), "PORTAL_SECRET_KEY": SECRET_KEY}
        manage([sys.executable, "manage.py", "migrate", "--noinput"], env)
        # The production image collects static files at build time (Dockerfile): pages name them by
        # their hashed names from the manifest when DEBUG is off. See _collectstatic.
        manage([sys.executable, "-m", "tests.harnesses.live_stack", "collectstatic"], env)
        return self

    def portal(self, name: str, nameserver: str, **env: str) -> "Portal":
        portal = Portal(self, name, nameserver, env)
        self.portals.append(portal)
        return portal

    def stop(self) -> None:
        for portal in self.portals:
            portal.stop()
        self.postgres.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_CLUSTER: Cluster | None = None


def shared_cluster(config) -> Cluster:
    """The session's one cluster for the live tests (load and faults), stopped when pytest ends."""
    global _CLUSTER
    if _CLUSTER is None:
        cluster = Cluster()
        config.add_cleanup(cluster.stop)
        _CLUSTER = cluster.start()
    return _CLUSTER


def clean_environ() -> dict[str, str]:
    """This process's environment less the portal's settings (scripts/test's point at the suite's servers)."""
    drop = ("PORTAL_", "DATABASE_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE", "SSL_CERT_FILE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(argv: list[str], env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:3])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Portal:
    """One deployment: a fresh database, its own Redis (broker and cache), gunicorn and Celery workers."""

    def __init__(self, cluster: Cluster, name: str, nameserver: str, env: dict[str, str]) -> None:
        self.cluster, self.name = cluster, name
        self.folder = cluster.folder / f"{name}-{uuid.uuid4().hex[:6]}"
        self.folder.mkdir()
        self.database = "portal_" + re.sub(r"\W", "_", self.folder.name)
        with cluster.postgres.admin() as conn:
            conn.execute(f"CREATE DATABASE {self.database} TEMPLATE {Cluster.TEMPLATE} OWNER portal")
        self.redis = Redis(self.folder).start()
        self.web_port = free_port()
        self.nameserver = nameserver
        self.overrides = env
        self.web: Service | None = None
        self.workers: list[Service] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self, **extra: str) -> dict[str, str]:
        """The production environment variables, pointed at this deployment's servers, and fast loops."""
        return {
            **clean_environ(),
            "DATABASE_URL": self.cluster.postgres.url(self.database),
            "PORTAL_BROKER_URL": self.redis.url(0),
            "PORTAL_CACHE_URL": self.redis.url(1),  # as docker-compose.yml: throttles and caches in Redis
            "PORTAL_SECRET_KEY": SECRET_KEY,
            "PORTAL_DEBUG": "false",
            "PORTAL_SSL_REDIRECT": "false",  # plain http on loopback: no TLS proxy in front
            "PORTAL_SECURE_COOKIES": "false",
            "PORTAL_HSTS_SECONDS": "0",
            "PORTAL_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTAL_BASE_URL": self.url,
            "PORTAL_TASKS_EAGER": "false",
            "PORTAL_LOGIN_FAILURE_LIMIT": "100000",
            "PORTAL_API_RATE_ANON": "1000000/minute",
            "PORTAL_API_RATE_USER": "1000000/minute",
            "PORTAL_ABUSE_API_RATE": "1000000/minute",
            "EMAIL_URL": "dummymail://",
            "PORTAL_LOG_LEVEL": "INFO",
            # The checks: loopback DNS (tests/check_fixtures.py's zone), loopback hosts allowed, short timeouts.
            "PORTAL_DNS_NAMESERVERS": self.nameserver,
            "PORTAL_DNS_TIMEOUT": "1",
            "PORTAL_CHECK_ALLOW_NETWORKS": "127.0.0.0/8",
            "PORTAL_DNSBL_ZONES": "zen.spamhaus.org,bl.spamcop.net",
            "PORTAL_DOMAIN_BLOCKLIST_ZONES": "dbl.spamhaus.org,multi.uribl.com",
            "PORTAL_SMTP_PROBE_PORT": str(free_port()),  # nobody listens: refused at once
            "PORTAL_SMTP_PROBE_TIMEOUT": "1",
            "PORTAL_SMTP_PROBE_DEADLINE": "5",
            "PORTAL_HTTP_TIMEOUT": "1",
            "PORTAL_CHECK_TIMEOUT": "8",
            "PORTAL_CHECK_SWEEP_INTERVAL": "1",
            "PORTAL_EGRESS_TARGETS": json.dumps({"default": {"backend": "simulated"}}),
            "PORTAL_EGRESS_SWEEP_SECONDS": "1",
            "PORTAL_EGRESS_RETRY_DELAY": "0.5",
            **self.overrides,
            **extra,
        }

    # processes

    def start_web(self, workers: int = 2, threads: int = 4, **env: str) -> Service:
        argv = [gunicorn_bin(), "portal.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}",
                "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                "--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "-"]  # fmt: skip
        self.web = Service("gunicorn", argv, self.env(**env), self.folder / "gunicorn.log")

        def healthy() -> bool:
            assert self.web.alive(), self.web.output()
            return http_status(self.url + "/healthz") == 200

        wait_for(healthy, 60, self.web.output)
        return self.web

    def start_worker(
        self, name: str, *, beat: bool = True, concurrency: int = 2, restart: bool = False, **env: str
    ) -> Service:
        argv = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO",
                f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", f"{name}@{self.folder.name}"]  # fmt: skip
        if beat:
            argv += ["--beat", "--schedule", str(self.folder / f"{name}-beat-schedule")]
        worker = Service(f"worker {name}", argv, self.env(**env), self.folder / f"worker-{name}.log", restart=restart)
        self.workers.append(worker)

        def ready() -> bool:
            assert worker.alive(), worker.output()
            return b" ready." in worker.log.read_bytes()

        wait_for(ready, 60, worker.output)
        return worker

    def output(self) -> str:
        services = [s for s in (self.web, *self.workers) if s is not None]
        return "\n".join(s.output(3000) for s in services)

    def stop(self) -> None:
        for service in [*self.workers, self.web]:
            if service is not None:
                service.stop()
        self.workers = []
        self.web = None
        self.redis.stop()

    # data

    def seed(self, customers: int = 0, reviewers: int = 0, reporters: int = 0, ipv4: dict | None = None) -> dict:
        """Accounts with a server (one IPv4 on 127/8, one IPv6) and an API token, reviewers, a superuser,
        and abuse reporters' tokens. `ipv4` gives some customers (by index) a chosen IPv4 address."""
        spec = {"customers": customers, "reviewers": reviewers, "reporters": reporters, "tag": self.folder.name[-6:],
                "ipv4": {str(i): ip for i, ip in (ipv4 or {}).items()}}  # fmt: skip
        spec = json.dumps(spec)
        out = manage([sys.executable, "-m", "tests.harnesses.live_stack", "seed", spec], self.env())
        return json.loads(out.strip().splitlines()[-1])

    def sql(self, query: str, params: tuple | list = ()) -> list[tuple]:
        with self.cluster.postgres.connect(self.database) as conn:
            return conn.execute(query, params).fetchall()

    def scalar(self, query: str, params: tuple | list = ()):
        return self.sql(query, params)[0][0]


def http_status(url: str) -> int | None:
    import requests

    try:
        return requests.get(url, timeout=2, allow_redirects=False).status_code
    except requests.RequestException:
        return None


# --- clients that behave as the portal's users ---------------------------------------------------


def request_answers(ipv4: str, **overrides) -> dict:
    """A small personal mail server's answers (no four-eyes rule, the checks run against loopback)."""
    return personal_server_answers(
        **{
            "company_name": "Load Test Mail",
            "company_website": f"https://www.{MAIL_DOMAIN}/",
            "sending_domain": MAIL_DOMAIN,
            "mail_server_hostname": MAIL_SERVER,
            "mail_server_ip": ipv4,
            **overrides,
        }
    )


class Client:
    """A person at a browser (cookies, CSRF) or a program with a token, against the portal's URL."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 30) -> None:
        import requests

        self.base, self.timeout = base, timeout
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"

    def get(self, path: str, **kwargs):
        return self.http.get(self.base + path, timeout=self.timeout, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs):
        return self.http.post(self.base + path, timeout=self.timeout, allow_redirects=False, **kwargs)

    def csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def form(self, path: str, data: dict):
        """GET the page (for its CSRF cookie, as a browser would have), then POST the form."""
        self.get(path)
        return self.post(path, data={**data, "csrfmiddlewaretoken": self.csrf()}, headers={"Referer": self.base + path})

    def login(self, email: str, *, admin: bool = False):
        path = "/admin/login/?next=/admin/" if admin else "/accounts/login/"
        response = self.form(path, {"username": email, "password": PASSWORD})
        assert response.status_code == 302, f"log-in of {email}: {response.status_code} {response.text[:500]}"
        if admin:
            code = staff_codes(email)[next(_codes_used[email])]
            response = self.form("/admin/two-factor/", {"code": code, "next": "/admin/"})
            assert response.status_code == 302, f"second factor of {email}: {response.status_code}"
        return response

    def file_request(self, ipv4: str, **answers):
        return self.post("/api/v1/requests/", json=request_answers(ipv4, **answers))

    def approve(self, request_id: int, expected_status: str = "awaiting_review"):
        path = f"/admin/requests_app/unblockrequest/{request_id}/review/approve/"
        data = {"expected_status": expected_status, "note": "", "csrfmiddlewaretoken": self.csrf()}
        return self.post(path, data=data, headers={"Referer": self.base + path})


QUEUE_ROW = re.compile(r"/admin/requests_app/unblockrequest/(\d+)/change/")

STAFF_CODES = 40
_codes_used: defaultdict[str, itertools.count] = defaultdict(itertools.count)


def staff_codes(email: str) -> list[str]:
    """The recovery codes of a seeded member of staff; the harness uses them from the first, Locust the last."""
    return [hashlib.sha256(f"{email}:{i}".encode()).hexdigest()[:16] for i in range(STAFF_CODES)]


# --- seeding, run inside the deployment's environment -----------------------------------------------


def _seed(spec: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Account, CustomerToken, User
    from accounts.services import record_server, register_customer

    call_command("setup_staff_groups", verbosity=0)
    tag = spec["tag"]
    customers = []
    for i in range(spec["customers"]):
        ipv4, ipv6 = f"127.{1 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}", f"2001:db8:25::{i + 1:x}"
        ipv4 = spec.get("ipv4", {}).get(str(i), ipv4)  # e.g. 127.0.0.1, where a test's mail server listens
        # No password yet: hashing is slow on purpose, so every user gets the one hash below.
        user = register_customer(f"customer{i}-{tag}@load.test", None, f"Load customer {i}")
        account = user.membership.account
        record_server(account, f"vm-{tag}-{i}", f"vm{i}.load.test", [ipv4, ipv6])
        token = CustomerToken.issue(user=user, name="load test")[1]
        customers.append({"email": user.email, "token": token, "account": account.pk, "ips": [ipv4, ipv6]})
    # Verified, as the provider's control panel would record it: reviewers may approve them.
    Account.objects.filter(pk__in=[c["account"] for c in customers]).update(
        identity_verified_at=timezone.now(), payment_verified_at=timezone.now()
    )
    group = Group.objects.get(name="Support reviewer")
    reviewers = []
    for i in range(spec["reviewers"]):
        reviewer = User.objects.create_user(email=f"reviewer{i}-{tag}@load.test", password=None, is_staff=True)
        reviewer.groups.add(group)
        reviewers.append(reviewer.email)
    admin = User.objects.create_superuser(email=f"admin-{tag}@load.test", password=None)
    # Staff pass the second factor with recovery codes the harness can compute (staff_codes).
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    for email in [*reviewers, admin.email]:
        device = StaticDevice.objects.create(user=User.objects.get(email=email), name="recovery codes")
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in staff_codes(email))
    User.objects.filter(email__endswith=f"-{tag}@load.test").update(password=make_password(PASSWORD))
    reporters = []
    if spec.get("reporters"):
        from abuse.models import Reporter, ReporterToken

        for i in range(spec["reporters"]):
            reporter = Reporter.objects.create(name=f"Feedback loop {i} {tag}", contact=f"fbl{i}@load.test")
            reporters.append(ReporterToken.issue(reporter=reporter, name="load test")[1])
    return {
        "customers": customers,
        "reviewers": reviewers,
        "superuser": admin.email,
        "reporters": reporters,
        "staff_codes": {email: staff_codes(email) for email in [*reviewers, admin.email]},
    }


def _collectstatic() -> None:
    """`collectstatic` into var/staticfiles (STATIC_ROOT) with the manifest the pages need, but without
    whitenoise's gzip/brotli copies: those take ~40 s on two cores and change nothing we measure."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    manifest_only = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": manifest_only}
    call_command("collectstatic", interactive=False, verbosity=0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        print(json.dumps(_seed(json.loads(sys.argv[2]))))
    elif sys.argv[1:2] == ["collectstatic"]:
        _collectstatic()
    else:
        sys.exit("usage: python -m tests.harnesses.live_stack seed '<json spec>' | collectstatic")
