"""The portal in its production shape, as real processes on loopback, for the load and fault tests.

A `Cluster` is a PostgreSQL server of its own (initdb + pg_ctl in a temporary folder, as the
`postgres` OS user when run as root, like scripts/test) with the schema migrated once into a
template database. A `Portal` is one throw-away deployment on it: a database copied from the
template, its own redis-server, gunicorn serving portal.wsgi and Celery workers (with beat), all
on free loopback ports, started with the environment production uses. The servers and processes
themselves (and the check that the machine has them) are in tests/harnesses/live_services.py.

The tests observe the result the way an operator would: HTTP against gunicorn, and SQL against
the database (psycopg, outside Django). Seeding and collecting static files run inside a deployment's
environment, as `python -m tests.harnesses.live_steps ...` (tests/harnesses/live_steps.py).
"""

import contextlib
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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.harnesses.live_services import ROOT, Postgres, Redis, Service, gunicorn_bin, wait_for
from tests.loopback import free_port
from tests.request_answers import personal_server_answers

PASSWORD = "load-test password 25"  # every seeded log-in (customers, reviewers, superuser)
SECRET_KEY = "live-stack-secret-key-not-for-production-6f1c2d9e8a7b"

# What the checks look at (tests/check_fixtures.py serves these names on the loopback DNS).
MAIL_DOMAIN = "acme-mail.example.org"
MAIL_SERVER = f"mail.{MAIL_DOMAIN}"

SHM = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a folder of our own in it)


# --- the cluster and the deployments on it ----------------------------------------------------


class Cluster:
    """PostgreSQL with the schema migrated into `portal_template`, static files collected."""

    TEMPLATE = "portal_template"

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="portal-stack-", dir=memory_folder()))
        self.folder.chmod(0o755)  # the postgres OS user must reach its folder inside
        self.postgres = Postgres(self.folder)
        self.portals: list[Portal] = []

    def start(self) -> "Cluster":
        env = {**clean_environ(), "DATABASE_URL": self.postgres.url(self.TEMPLATE), "PORTAL_SECRET_KEY": SECRET_KEY}
        # The production image collects static files at build time (Dockerfile): pages name them by
        # their hashed names from the manifest when DEBUG is off. See live_steps.collectstatic. It needs no
        # database, so it runs while PostgreSQL starts and the schema migrates.
        with ThreadPoolExecutor(1) as collecting:
            collect = [sys.executable, "-m", "tests.harnesses.live_steps", "collectstatic"]
            collected = collecting.submit(manage, collect, env)
            self.postgres.start()
            with self.postgres.admin() as conn:
                conn.execute(f"CREATE DATABASE {self.TEMPLATE} OWNER portal")
            manage([sys.executable, "manage.py", "migrate", "--noinput"], env)
            collected.result()
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


def memory_folder() -> str | None:
    """The memory filesystem when it has room for the cluster (a container's may have 64 MB), else
    None: the temporary folder's default. On disk, removing the cluster's folder once written back
    (134 MB in 5,574 files) took 12.5 s on the 2-core machine, and PostgreSQL's writes cost I/O."""
    try:
        room = os.statvfs(SHM)
    except OSError:
        return None
    return str(SHM) if room.f_bavail * room.f_frsize >= 2 * 1024**3 else None


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
        self._booting: list[tuple[Service, Callable[[], bool]]] | None = None

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

    @contextlib.contextmanager
    def starting(self) -> Iterator[None]:
        """gunicorn and the workers started in the block boot together, while the block goes on (seeding,
        say); at its end each is waited for until ready, as `start_web` and `start_worker` do alone."""
        self._booting = []
        try:
            yield
            for service, ready in self._booting:
                wait_for(ready, 60, service.output)
        finally:
            self._booting = None

    def _boot(self, service: Service, ready: Callable[[], bool]) -> None:
        if self._booting is None:
            wait_for(ready, 60, service.output)
        else:
            self._booting.append((service, ready))

    def start_web(self, workers: int = 2, threads: int = 4, **env: str) -> Service:
        argv = [gunicorn_bin(), "portal.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}",
                "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                "--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "-"]  # fmt: skip
        web = self.web = Service("gunicorn", argv, self.env(**env), self.folder / "gunicorn.log")

        def healthy() -> bool:
            assert web.alive(), web.output()
            return http_status(self.url + "/healthz") == 200

        self._boot(web, healthy)
        return web

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

        self._boot(worker, ready)
        return worker

    def output(self) -> str:
        services = [s for s in (self.web, *self.workers) if s is not None]
        return "\n".join(s.output(3000) for s in services)

    def stop(self) -> None:
        """The deployment is thrown away, so its processes are killed: waiting for Celery's warm
        shutdown and gunicorn's graceful one cost 2-3 s a test, for nothing a test looks at."""
        for service in [*self.workers, self.web, self.redis.service]:
            if service is not None:
                service.kill()
        self.workers = []
        self.web = None

    # data

    def seed(self, customers: int = 0, reviewers: int = 0, reporters: int = 0, ipv4: dict | None = None) -> dict:
        """Accounts with a server (one IPv4 on 127/8, one IPv6) and an API token, reviewers, a superuser,
        and abuse reporters' tokens. `ipv4` gives some customers (by index) a chosen IPv4 address."""
        spec = {"customers": customers, "reviewers": reviewers, "reporters": reporters, "tag": self.folder.name[-6:],
                "ipv4": {str(i): ip for i, ip in (ipv4 or {}).items()}}  # fmt: skip
        spec = json.dumps(spec)
        out = manage([sys.executable, "-m", "tests.harnesses.live_steps", "seed", spec], self.env())
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
