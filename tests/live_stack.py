"""The portal in its production shape, as real processes on loopback, for the load and fault tests.

A `Cluster` is a PostgreSQL server of its own (initdb + pg_ctl in a temporary folder, as the
`postgres` OS user when run as root, like scripts/test) with the schema migrated once into a
template database. A `Portal` is one throw-away deployment on it: a database copied from the
template, its own redis-server, gunicorn serving portal.wsgi and Celery workers (with beat), all
on free loopback ports, started with the environment production uses. Every process is started
here and stopped (or killed, on purpose) by its own PID / process group, nothing by name.

The tests observe the result the way an operator would: HTTP against gunicorn, and SQL against
the database (psycopg, outside Django). `python -m tests.live_stack seed '<json>'` is the seeding
step, run inside the deployment's environment.
"""

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.loopback import free_port
from tests.request_answers import personal_server_answers

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load-test password 25"  # every seeded log-in (customers, reviewers, superuser)
SECRET_KEY = "live-stack-secret-key-not-for-production-6f1c2d9e8a7b"
DB_PASSWORD = "portal"

# What the checks look at (tests/check_fixtures.py serves these names on the loopback DNS).
MAIL_DOMAIN = "acme-mail.example.org"
MAIL_SERVER = f"mail.{MAIL_DOMAIN}"


# --- what is needed, and whether it is here -------------------------------------------------


def pg_bin() -> Path | None:
    """PostgreSQL's bin folder: Debian's newest, else wherever initdb is on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def gunicorn_bin() -> str | None:
    return shutil.which("gunicorn", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))


def missing_for_stack(*, under_scripts_test: bool = True) -> str | None:
    """Why the live stack cannot run here (None when it can)."""
    if under_scripts_test and not os.environ.get("PORTAL_REDIS_URL"):
        return "needs scripts/test (PORTAL_REDIS_URL unset): it installs PostgreSQL and Redis and sets the environment"
    pg = pg_bin()
    if pg is None or not (pg / "pg_ctl").exists():
        return "initdb / pg_ctl not found (PostgreSQL server binaries)"
    if not shutil.which("redis-server"):
        return "redis-server not found"
    if not gunicorn_bin():
        return "gunicorn not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a `postgres` OS user to run PostgreSQL as"
    return None


# --- small helpers ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], object], seconds: float, explain: Callable[[], str] = str, step=0.1) -> object:
    """Poll `condition` until it is truthy (returned) or `seconds` pass (AssertionError with `explain()`)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s\n{explain()}")
        time.sleep(step)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Service:
    """A process started here in its own session, so that it and its children (gunicorn's workers,
    Celery's pool) form one process group, stopped or killed by that group's id.

    With `restart`, a process that exits by itself is started again, as docker-compose's
    `restart: unless-stopped` does; `restarts` counts those.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, *, restart: bool = False) -> None:
        self.name, self.log, self._argv, self._env = name, log, argv, env
        self.restarts = 0
        self._stopping, self._lock = threading.Event(), threading.Lock()
        self._start()
        if restart:
            threading.Thread(target=self._restart_when_it_exits, daemon=True).start()

    def _start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self._argv, cwd=ROOT, env=self._env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _restart_when_it_exits(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:  # not while `stop` or `kill` is under way
                if self.process.poll() is not None and not self._stopping.is_set():
                    self.restarts += 1
                    self._start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, chars: int = 6000) -> str:
        try:
            return f"--- {self.name} ({self.log}) ---\n" + self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return f"--- {self.name}: no log ---"

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up, no acknowledgement, no rollback by the process."""
        with self._lock:
            self._stopping.set()
        self.signal_group(signal.SIGKILL)
        self.process.wait(15)

    def stop(self, timeout: float = 15) -> None:
        with self._lock:
            self._stopping.set()
        if self.alive():
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.signal_group(signal.SIGKILL)  # stragglers of the group, if any
        if self.alive():
            self.process.wait(10)


# --- PostgreSQL ----------------------------------------------------------------------------


class Postgres:
    """A cluster of our own, so that restarting it hurts nobody else."""

    def __init__(self, folder: Path) -> None:
        self.bin = pg_bin()
        self.dir = folder / "pg"  # owned by the server's OS user; also its socket folder
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}\n{self.log_tail()}")
        return result

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except (FileNotFoundError, PermissionError):
            return ""

    def start(self) -> "Postgres":
        self.dir.mkdir(parents=True)
        if self.as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# tests/live_stack.py: throw-away cluster\n"
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        self._pg_ctl("start")
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE portal LOGIN PASSWORD '{DB_PASSWORD}' CREATEDB")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", *extra, action)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server comes back on the same port."""
        self._pg_ctl("restart", "-m", "fast")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def stop(self) -> None:
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            self._pg_ctl("stop", "-m", "fast")
        except (RuntimeError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def admin(self):
        import psycopg

        return psycopg.connect(host=str(self.dir), port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="portal", password=DB_PASSWORD, dbname=database, autocommit=True
        )

    def url(self, database: str) -> str:
        return f"postgres://portal:{DB_PASSWORD}@127.0.0.1:{self.port}/{database}"


# --- Redis ---------------------------------------------------------------------------------


class Redis:
    """redis-server in the foreground (its PID is ours), without persistence: a restart starts empty."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.port = free_port()
        self.service: Service | None = None
        self.starts = 0

    def start(self) -> "Redis":
        self.starts += 1
        argv = [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.dir)]  # fmt: skip
        self.service = Service("redis", argv, dict(os.environ), self.dir / "redis.log")
        wait_for(self.ping, 10, self.service.output)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop(5)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


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
        manage([sys.executable, "-m", "tests.live_stack", "collectstatic"], env)
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
        out = manage([sys.executable, "-m", "tests.live_stack", "seed", spec], self.env())
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
        return response

    def file_request(self, ipv4: str, **answers):
        return self.post("/api/v1/requests/", json=request_answers(ipv4, **answers))

    def approve(self, request_id: int, expected_status: str = "awaiting_review"):
        path = f"/admin/requests_app/unblockrequest/{request_id}/review/approve/"
        data = {"expected_status": expected_status, "note": "", "csrfmiddlewaretoken": self.csrf()}
        return self.post(path, data=data, headers={"Referer": self.base + path})


QUEUE_ROW = re.compile(r"/admin/requests_app/unblockrequest/(\d+)/change/")


# --- seeding, run inside the deployment's environment -----------------------------------------------


def _seed(spec: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from accounts.models import CustomerToken, User
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
    group = Group.objects.get(name="Support reviewer")
    reviewers = []
    for i in range(spec["reviewers"]):
        reviewer = User.objects.create_user(email=f"reviewer{i}-{tag}@load.test", password=None, is_staff=True)
        reviewer.groups.add(group)
        reviewers.append(reviewer.email)
    admin = User.objects.create_superuser(email=f"admin-{tag}@load.test", password=None)
    User.objects.filter(email__endswith=f"-{tag}@load.test").update(password=make_password(PASSWORD))
    reporters = []
    if spec.get("reporters"):
        from abuse.models import Reporter, ReporterToken

        for i in range(spec["reporters"]):
            reporter = Reporter.objects.create(name=f"Feedback loop {i} {tag}", contact=f"fbl{i}@load.test")
            reporters.append(ReporterToken.issue(reporter=reporter, name="load test")[1])
    return {"customers": customers, "reviewers": reviewers, "superuser": admin.email, "reporters": reporters}


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
        sys.exit("usage: python -m tests.live_stack seed '<json spec>' | collectstatic")
