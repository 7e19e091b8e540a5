"""Settings of the port-25 portal.

Every value that differs between a laptop, CI and production comes from the
environment (or a `.env` file beside manage.py); `.env.example` documents each
one. This module is the only place that reads the environment.
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("PORTAL_DEBUG", default=False)

SECRET_KEY = env.str("PORTAL_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("PORTAL_SECRET_KEY must be set when PORTAL_DEBUG is off (see .env.example).")
    # A fixed key is acceptable only on a developer's machine, where DEBUG is on.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("PORTAL_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("PORTAL_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal.apps.SignInLockoutsConfig",
    "django_otp",
    "portal.apps.AuthenticatorAppsConfig",
    "portal.apps.RecoveryCodesConfig",
    "accounts",
    "egress",
    "verification",
    "requests_app",
    "abuse",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff sessions remember the second factor that verified them (portal.admin_site).
    "django_otp.middleware.OTPMiddleware",
    # After authentication, to name the signed-in customer's account on the request's log lines.
    "operations.log_context.RequestIdMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.viewer_timezone.ViewerTimezoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
# Each web and worker process keeps its connection (checked before it is used again): a new
# PostgreSQL connection for every request cost the server more CPU than the request itself.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("PORTAL_DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "PORTAL_DB_PREPARED_STATEMENTS", default=True
):
    # Parameters bound by the server, and a query run 5 times on a connection prepared there
    # (psycopg's threshold): PostgreSQL then no longer parses and plans the same statements again
    # for every report. Django leaves preparing off for poolers in transaction mode that cannot keep
    # prepared statements (PgBouncer before 1.21, or without max_prepared_statements): turn it off there.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default shares the file between the web process and the worker.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counters and other short-lived state: Redis in production (shared by all web
# processes), process memory on the embedded default.
CACHES = {"default": env.cache_url("PORTAL_CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    # Redis down must not answer every API call with 500 (DRF's throttles read the cache): django-redis
    # then answers as an empty cache (reads miss, writes are dropped) and logs each error it ignored.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
    )
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Log-in throttling (customers and staff, the admin included): after this many failures
# for one address from one IP, further attempts are refused for the cool-off time.
AXES_FAILURE_LIMIT = env.int("PORTAL_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PORTAL_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The log-in forms post the email address as "username" (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
# One identity however the address is spelt (log-in matches it case-insensitively), and the
# client's address, not the proxy's, when behind one.
AXES_USERNAME_CALLABLE = "accounts.login_identity.login_identity"
AXES_CLIENT_IP_CALLABLE = "common.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-up attempts per client address (common.client_address), in DRF's rate format.
PORTAL_SIGNUP_RATE = env.str("PORTAL_SIGNUP_RATE", default="10/hour")
# Password resets per client address, and per typed e-mail address (accounts/password_reset.py).
# Active customer API tokens one person may hold (accounts/services.py); more are refused with a message.
PORTAL_API_TOKENS_PER_USER = env.int("PORTAL_API_TOKENS_PER_USER", default=10)
PORTAL_PASSWORD_RESET_RATE = env.str("PORTAL_PASSWORD_RESET_RATE", default="5/hour")
PORTAL_PASSWORD_RESET_ADDRESS_RATE = env.str("PORTAL_PASSWORD_RESET_ADDRESS_RATE", default="5/hour")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "port25"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# How dates read on pages (portal/formats/en/formats.py): to the minute, with the zone's name.
FORMAT_MODULE_PATH = ["portal.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Keep each message as an .eml file in this folder instead (the embedded default: scripts/run sets var/mail);
# `manage.py sent_mail` lists them.
PORTAL_MAIL_FOLDER = env.str("PORTAL_MAIL_FOLDER", default="")
if PORTAL_MAIL_FOLDER:
    EMAIL_BACKEND = "common.mail_files.EmlFileBackend"
    EMAIL_FILE_PATH = PORTAL_MAIL_FOLDER
DEFAULT_FROM_EMAIL = env.str("PORTAL_DEFAULT_FROM_EMAIL", default="port25@localhost")
# Mail is sent by a Celery task after the commit (common.outgoing_mail): an SMTP server that
# refuses or is away is tried again after this many seconds, doubling (at most 10 minutes apart),
# this many times; every failure is logged.
PORTAL_MAIL_RETRY_SECONDS = env.int("PORTAL_MAIL_RETRY_SECONDS", default=5)
PORTAL_MAIL_MAX_RETRIES = env.int("PORTAL_MAIL_MAX_RETRIES", default=12)

# Transport security. Production sits behind HTTPS (a proxy that sets X-Forwarded-Proto);
# a developer's machine (DEBUG) speaks plain http.
SESSION_COOKIE_SECURE = env.bool("PORTAL_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("PORTAL_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
BEHIND_PROXY = env.bool("PORTAL_BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_HSTS_SECONDS = env.int("PORTAL_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("PORTAL_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("PORTAL_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere (the API docs use drf-spectacular's split view for that).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a missing or wrong token answers 401 with WWW-Authenticate.
        "accounts.token_auth.CustomerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested past PORTAL_JSON_MAX_DEPTH answers 400 (plain json recursion answered 500).
    "DEFAULT_PARSER_CLASSES": [
        "common.api_parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Behind the proxy, throttles key on the client's address as common.client_address reads it.
    "NUM_PROXIES": 1 if BEHIND_PROXY else None,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("PORTAL_API_RATE_ANON", default="60/minute"),
        "user": env.str("PORTAL_API_RATE_USER", default="1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
# Deepest nesting of arrays and objects accepted in JSON from clients (every API).
PORTAL_JSON_MAX_DEPTH = env.int("PORTAL_JSON_MAX_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "Port-25 egress portal API",
    "DESCRIPTION": "Read your account's port-25 status and file, follow and withdraw unblock requests.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Request.status and the timeline's from/to share one choice set: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"RequestStatusEnum": "requests_app.models.Status"},
    # Tags from the path after /api/v1/ (port25, requests, platform, abuse); the customer's first.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "TAGS": [
        {"name": "port25", "description": "Customers: whether outbound port 25 is open for your account."},
        {"name": "requests", "description": "Customers: file, follow and withdraw your unblock requests."},
        {"name": "platform", "description": "The cloud platform: servers, their addresses and verifications."},
        {"name": "abuse", "description": "Abuse reporters: reports as JSON, XARF, ARF or a batch."},
    ],
    "SORT_OPERATIONS": "portal.api_docs.customer_endpoints_first",
}

CELERY_BROKER_URL = env.str("PORTAL_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        # The embedded default needs no broker service: messages are files under var/.
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        # kombu's default is ./control, wherever the process happens to start.
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
        # Every 0.2 s, not kombu's 1 s: an abuse report's revocation waits for two tasks in turn.
        "polling_interval": 0.2,
        # A message that cannot be read is moved here and logged (operations.file_broker), never fatal.
        "torn_folder": str(VAR_DIR / "broker-torn"),
    }
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {}
)
# kombu's file transport, writing whole messages only and setting aside one it cannot read.
CELERY_BROKER_TRANSPORT = "operations.file_broker:Transport" if CELERY_BROKER_URL.startswith("filesystem://") else None
# Firewall changes have a queue of their own, so that no backlog of checks or abuse reports delays
# them where a worker serves it alone (docker-compose's egress-worker). Checks too: a customer's
# server may hold a check for its whole deadline, and must not hold the worker that takes in abuse
# reports (docker-compose's checks-worker, scripts/run's second worker). A worker started without
# -Q serves every queue.
CELERY_TASK_QUEUES = [Queue("celery"), Queue("egress"), Queue("checks")]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "egress.tasks.apply_changes": {"queue": "egress"},
    "requests_app.tasks.run_request_checks": {"queue": "checks"},
    "abuse.tasks.recheck_open_addresses": {"queue": "checks"},
    "abuse.tasks.recheck_account": {"queue": "checks"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("PORTAL_TASKS_EAGER", default=False)
# Celery's Django fixup closes the database connection before and after every task, unless a
# connection may serve this many: a new PostgreSQL backend for each task cost the server more CPU
# than the task's queries, and lost its prepared statements. Out of reach here: portal.celery
# applies Django's rules instead (PORTAL_DB_CONN_MAX_AGE, a check before reuse), as for a request.
CELERY_DB_REUSE_MAX = sys.maxsize
CELERY_TIMEZONE = "UTC"
# The common floor is no Django app: autodiscovery, which finds the apps' tasks.py, misses its own.
CELERY_IMPORTS = ["common.tasks"]
# Periodic tasks; each app's section below adds its entries.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}

# Checks and forms: which resolvers answer DNS questions, and which networks a
# customer-named host may resolve to although they are not public (tests only).
PORTAL_DNS_NAMESERVERS = env.list("PORTAL_DNS_NAMESERVERS", default=[])
PORTAL_DNS_TIMEOUT = env.float("PORTAL_DNS_TIMEOUT", default=3.0)
PORTAL_CHECK_ALLOW_NETWORKS = env.list("PORTAL_CHECK_ALLOW_NETWORKS", default=[])

# Unblock requests: bounds a person can understand.
PORTAL_MAX_DAILY_VOLUME = env.int("PORTAL_MAX_DAILY_VOLUME", default=10_000_000)
PORTAL_PERSONAL_VOLUME_LIMIT = env.int("PORTAL_PERSONAL_VOLUME_LIMIT", default=200)
PORTAL_MAX_TEMPLATE_BYTES = env.int("PORTAL_MAX_TEMPLATE_BYTES", default=100_000)

# Review: where links in mail point, when two reviewers must approve.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
PORTAL_FOUR_EYES_VOLUME = env.int("PORTAL_FOUR_EYES_VOLUME", default=10_000)
# Verifications an account must complete before a reviewer may approve (identity, payment), and the
# provider's control-panel page where the customer completes them.
PORTAL_REQUIRED_VERIFICATIONS = env.list("PORTAL_REQUIRED_VERIFICATIONS", default=["identity", "payment"])
PORTAL_VERIFICATION_URL = env.str("PORTAL_VERIFICATION_URL", default="")
# The provider's control-panel page where customers create servers (linked when an account has none).
PORTAL_SERVERS_URL = env.str("PORTAL_SERVERS_URL", default="")
# The embedded demo's stand-in for that control panel (/accounts/demo-control-panel/: create a server,
# complete verification), clearly marked as the provider's. scripts/run turns it on; off, it is a 404.
PORTAL_DEMO_CONTROL_PANEL = env.bool("PORTAL_DEMO_CONTROL_PANEL", default=False)
# Staff sign in with a password and a TOTP code (django-otp); the name their authenticator app shows.
OTP_TOTP_ISSUER = "Port-25 portal"
# Wrong codes hold off the client that typed them (accounts/code_throttle.py), never the device: a
# device's own throttle let anyone with a staff password keep that person out.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# Second-factor codes tried for one person from all clients together (number/second|minute|hour|day).
PORTAL_TWO_FACTOR_CODE_RATE = env.str("PORTAL_TWO_FACTOR_CODE_RATE", default="100/hour")
# Staff enrol an authenticator app only through a link a superuser issued (manage.py
# issue_two_factor_enrolment, or the user admin's action): a password alone never enrols one. Hours it stays valid.
PORTAL_TWO_FACTOR_ENROLMENT_HOURS = env.int("PORTAL_TWO_FACTOR_ENROLMENT_HOURS", default=24)

# Auto-decision policy, off by default: approve low-volume, non-marketing requests whose checks
# all passed, on accounts with identity and payment verified. Staff can reverse it.
PORTAL_AUTO_APPROVE = env.bool("PORTAL_AUTO_APPROVE", default=False)
PORTAL_AUTO_APPROVE_MAX_VOLUME = env.int("PORTAL_AUTO_APPROVE_MAX_VOLUME", default=100)

# Log lines: plain text (the default, for scripts/run) or one JSON object per line with the request
# id, task id, account, request and target where they apply (operations/log_context.py).
PORTAL_LOG_FORMAT = env.str("PORTAL_LOG_FORMAT", default="text")
if PORTAL_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("PORTAL_LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "operations.log_context.ContextFilter"}},
    "formatters": {"json": {"()": "operations.log_context.PortalJsonFormatter"}, "text": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": PORTAL_LOG_FORMAT}
    },
    "root": {"handlers": ["console"], "level": env.str("PORTAL_LOG_LEVEL", default="INFO")},
    # Django's own console handler would print every line a second time through the root.
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

# --- Checks ---------------------------------------------------------------------------
# The automated checks of unblock requests (verification/): blocklists, probe and HTTP
# limits, and the periodic sweep that recovers runs a dead worker left behind.
PORTAL_DNSBL_ZONES = env.list(
    "PORTAL_DNSBL_ZONES",
    default=["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "psbl.surriel.com"],
)
PORTAL_DOMAIN_BLOCKLIST_ZONES = env.list(
    "PORTAL_DOMAIN_BLOCKLIST_ZONES", default=["dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com"]
)
PORTAL_DNSBL_TESTPOINT_CACHE = env.int("PORTAL_DNSBL_TESTPOINT_CACHE", default=3600)
PORTAL_SMTP_PROBE_PORT = env.int("PORTAL_SMTP_PROBE_PORT", default=25)
PORTAL_SMTP_PROBE_TIMEOUT = env.float("PORTAL_SMTP_PROBE_TIMEOUT", default=15.0)
PORTAL_SMTP_PROBE_DEADLINE = env.float("PORTAL_SMTP_PROBE_DEADLINE", default=120.0)
PORTAL_SMTP_PROBE_HELO = env.str("PORTAL_SMTP_PROBE_HELO", default="relay-probe.example.net")
PORTAL_SMTP_PROBE_DOMAIN = env.str("PORTAL_SMTP_PROBE_DOMAIN", default="example.net")
PORTAL_HTTP_TIMEOUT = env.float("PORTAL_HTTP_TIMEOUT", default=10.0)
PORTAL_HTTP_MAX_REDIRECTS = env.int("PORTAL_HTTP_MAX_REDIRECTS", default=5)
PORTAL_CHECK_TIMEOUT = env.float("PORTAL_CHECK_TIMEOUT", default=60.0)
PORTAL_CHECK_NEW_ACCOUNT_DAYS = env.int("PORTAL_CHECK_NEW_ACCOUNT_DAYS", default=7)
PORTAL_CHECK_RERUN_INTERVAL = env.int("PORTAL_CHECK_RERUN_INTERVAL", default=300)
# "Stuck in checking": no check progress for this many seconds; the sweep queues such requests
# again and the admin's "stuck" queue lists them. PORTAL_STUCK_CHECKING_MINUTES, the admin's
# older setting in minutes, is read when this one is not set.
PORTAL_CHECK_STUCK_AFTER = env.int(
    "PORTAL_CHECK_STUCK_AFTER", default=60 * env.int("PORTAL_STUCK_CHECKING_MINUTES", default=10)
)
PORTAL_CHECK_MAX_ATTEMPTS = env.int("PORTAL_CHECK_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE["checks-sweep"] = {
    "task": "requests_app.tasks.sweep_stuck_checks",
    "schedule": env.float("PORTAL_CHECK_SWEEP_INTERVAL", default=120.0),
}

# --- Re-checks of open accounts ------------------------------------------------------------
# Every address of an account whose port 25 is open is checked again once per
# PORTAL_RECHECK_PERIOD_HOURS (blocklists, open relay, reverse DNS), each at its own moment of the
# period (a hash of the address plus jitter), never all at once. abuse/recheck_policy.py decides.
PORTAL_RECHECK_PERIOD_HOURS = env.float("PORTAL_RECHECK_PERIOD_HOURS", default=24.0)
# How often the beat looks for due addresses, and at most how many one look takes.
PORTAL_RECHECK_TICK_SECONDS = env.float("PORTAL_RECHECK_TICK_SECONDS", default=60.0)
PORTAL_RECHECK_BATCH = env.int("PORTAL_RECHECK_BATCH", default=500)
# Parallel look-ups (DNS) and relay probes of one batch.
PORTAL_RECHECK_DNS_THREADS = env.int("PORTAL_RECHECK_DNS_THREADS", default=32)
PORTAL_RECHECK_PROBE_THREADS = env.int("PORTAL_RECHECK_PROBE_THREADS", default=4)
# Whether the cycle probes each address for an open relay (an SMTP conversation, never a message).
PORTAL_RECHECK_RELAY = env.bool("PORTAL_RECHECK_RELAY", default=True)
# Whether it checks that each address's reverse DNS name still points back to it.
PORTAL_RECHECK_REVERSE_DNS = env.bool("PORTAL_RECHECK_REVERSE_DNS", default=True)
# The blocklists' terms: queries per zone per day and per second ("zone=number,..."; "*" for any other
# zone), and the access key a zone's operator requires ("zone=key": the key is put before the zone,
# as Spamhaus DQS names it: <query>.<key>.zen.dq.spamhaus.net is configured as zone zen.dq.spamhaus.net).
PORTAL_RECHECK_ZONE_DAILY_BUDGET = env.dict(
    "PORTAL_RECHECK_ZONE_DAILY_BUDGET", cast={"value": int}, default={"*": 250_000}
)
PORTAL_RECHECK_ZONE_RATE = env.dict("PORTAL_RECHECK_ZONE_RATE", cast={"value": int}, default={"*": 200})
PORTAL_DNSBL_KEYS = env.dict("PORTAL_DNSBL_KEYS", default={})
# What a new finding does (abuse/recheck_policy.py): "block" (closes port 25 until a re-check finds the
# address clean; listings also lift by themselves after PORTAL_RECHECK_BLOCK_HOURS), "warn" (the
# customer is told), or "ignore". Per blocklist zone, "*" for any other; an open relay; a reverse name
# that stopped matching; a sending domain whose SPF no longer authorises the address.
PORTAL_RECHECK_ZONE_ACTIONS = env.dict(
    "PORTAL_RECHECK_ZONE_ACTIONS",
    default={"xbl.spamhaus.org": "block", "zen.spamhaus.org": "block", "sbl.spamhaus.org": "block", "*": "warn"},
)
PORTAL_RECHECK_RELAY_ACTION = env.str("PORTAL_RECHECK_RELAY_ACTION", default="block")
PORTAL_RECHECK_REVERSE_DNS_ACTION = env.str("PORTAL_RECHECK_REVERSE_DNS_ACTION", default="warn")
PORTAL_RECHECK_SPF_ACTION = env.str("PORTAL_RECHECK_SPF_ACTION", default="warn")
PORTAL_RECHECK_BLOCK_HOURS = env.float("PORTAL_RECHECK_BLOCK_HOURS", default=24.0)
# A customer may ask for a re-check of their addresses once per this many seconds.
PORTAL_RECHECK_ON_DEMAND_SECONDS = env.int("PORTAL_RECHECK_ON_DEMAND_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["recheck-open-addresses"] = {
    "task": "abuse.tasks.recheck_open_addresses",
    "schedule": PORTAL_RECHECK_TICK_SECONDS,
}
# --- end of Re-checks ------------------------------------------------------------------------

# --- Egress ----------------------------------------------------------------------------
# Enforcement targets: name -> {"backend": "simulated" | "nftables" | "http", options}
# (options per backend in docs/operator.md, "Egress"). Each target has its own outbox rows,
# retries and reconciliation, so one that is down delays only itself.
PORTAL_EGRESS_TARGETS = env.json("PORTAL_EGRESS_TARGETS", default={"default": {"backend": "simulated"}})
# An outbox row that failed waits this many seconds, doubling per attempt (at most an hour),
# and is marked failed after PORTAL_EGRESS_MAX_ATTEMPTS; reconciliation settles it then.
PORTAL_EGRESS_RETRY_DELAY = env.float("PORTAL_EGRESS_RETRY_DELAY", default=10.0)
PORTAL_EGRESS_MAX_ATTEMPTS = env.int("PORTAL_EGRESS_MAX_ATTEMPTS", default=10)
# Seconds between sweeps (rows whose task was lost) and between full reconciliations.
PORTAL_EGRESS_SWEEP_SECONDS = env.float("PORTAL_EGRESS_SWEEP_SECONDS", default=30.0)
PORTAL_EGRESS_RECONCILE_SECONDS = env.float("PORTAL_EGRESS_RECONCILE_SECONDS", default=600.0)
CELERY_BEAT_SCHEDULE["egress-sweep"] = {"task": "egress.tasks.sweep", "schedule": PORTAL_EGRESS_SWEEP_SECONDS}
CELERY_BEAT_SCHEDULE["egress-reconcile"] = {
    "task": "egress.tasks.reconcile_all",
    "schedule": PORTAL_EGRESS_RECONCILE_SECONDS,
}
# --- end of Egress ---------------------------------------------------------------------

# --- Traffic telemetry -------------------------------------------------------------------
# The collector reads every target's tcp/25 counters this often (seconds) and keeps minute
# buckets for PORTAL_TRAFFIC_KEEP_MINUTES_HOURS, hourly ones for PORTAL_TRAFFIC_KEEP_HOURS_DAYS
# and daily ones for PORTAL_TRAFFIC_KEEP_DAYS_DAYS.
PORTAL_TRAFFIC_INTERVAL = env.float("PORTAL_TRAFFIC_INTERVAL", default=60.0)
PORTAL_TRAFFIC_KEEP_MINUTES_HOURS = env.int("PORTAL_TRAFFIC_KEEP_MINUTES_HOURS", default=24)
PORTAL_TRAFFIC_KEEP_HOURS_DAYS = env.int("PORTAL_TRAFFIC_KEEP_HOURS_DAYS", default=30)
PORTAL_TRAFFIC_KEEP_DAYS_DAYS = env.int("PORTAL_TRAFFIC_KEEP_DAYS_DAYS", default=365)
# Kernel-side burst detector (nftables): a source opening more new tcp/25 connections a minute
# than this lands in the over-rate set for PORTAL_TRAFFIC_OVER_RATE_HOLD seconds.
PORTAL_TRAFFIC_BURST_PER_MINUTE = env.int("PORTAL_TRAFFIC_BURST_PER_MINUTE", default=60)
PORTAL_TRAFFIC_OVER_RATE_HOLD = env.int("PORTAL_TRAFFIC_OVER_RATE_HOLD", default=600)
# The policy (abuse/traffic_policy.py): a burst blocks port 25 for PORTAL_TRAFFIC_BLOCK_SECONDS,
# doubling for each earlier block within PORTAL_TRAFFIC_REPEAT_DAYS; the
# PORTAL_TRAFFIC_BLOCKS_TO_REVOKE-th revokes.
PORTAL_TRAFFIC_BLOCK_SECONDS = env.float("PORTAL_TRAFFIC_BLOCK_SECONDS", default=3600.0)
PORTAL_TRAFFIC_REPEAT_DAYS = env.int("PORTAL_TRAFFIC_REPEAT_DAYS", default=7)
PORTAL_TRAFFIC_BLOCKS_TO_REVOKE = env.int("PORTAL_TRAFFIC_BLOCKS_TO_REVOKE", default=3)
# More attempts than this in an hour from an account's blocked servers: the customer is told (once a day).
PORTAL_TRAFFIC_BLOCKED_TRIES_PER_HOUR = env.int("PORTAL_TRAFFIC_BLOCKED_TRIES_PER_HOUR", default=10)
# More new connections in a UTC day than this times the request's declared daily volume: the
# customer is warned and the account flagged for the abuse desk (not blocked).
PORTAL_TRAFFIC_DECLARED_MULTIPLE = env.float("PORTAL_TRAFFIC_DECLARED_MULTIPLE", default=5.0)
CELERY_BEAT_SCHEDULE["egress-traffic"] = {
    "task": "egress.tasks.collect_traffic",
    "schedule": PORTAL_TRAFFIC_INTERVAL,
}
# --- end of Traffic telemetry ------------------------------------------------------------

# --- Abuse -----------------------------------------------------------------------------
# Abuse reports (abuse/): when they close port 25 again, and how hard the way back is.
# One report of these categories within the window revokes at once:
PORTAL_ABUSE_INSTANT_CATEGORIES = env.list(
    "PORTAL_ABUSE_INSTANT_CATEGORIES", default=["spamtrap", "malware", "compromised"]
)
# This many other complaints within the window revoke; from PORTAL_ABUSE_WARN_AFTER on, fewer
# send the customer a warning (once per window) and flag the account for the abuse desk.
PORTAL_ABUSE_REVOKE_AFTER = env.int("PORTAL_ABUSE_REVOKE_AFTER", default=5)
PORTAL_ABUSE_WARN_AFTER = env.int("PORTAL_ABUSE_WARN_AFTER", default=1)
PORTAL_ABUSE_WINDOW_HOURS = env.float("PORTAL_ABUSE_WINDOW_HOURS", default=24.0)
# Who may reopen port 25 (or require a new request) after the account's 1st, 2nd, 3rd...
# revocation; the last entry holds for every later one. Levels: abuse_desk, reviewer, superuser.
PORTAL_ABUSE_REINSTATEMENT = env.list("PORTAL_ABUSE_REINSTATEMENT", default=["abuse_desk", "reviewer", "superuser"])
# Largest raw report (an ARF message, a JSON body) accepted, in bytes; a larger one is rejected
# and its first PORTAL_ABUSE_MAX_REPORT_BYTES bytes are kept. Reports per batch request.
PORTAL_ABUSE_MAX_REPORT_BYTES = env.int("PORTAL_ABUSE_MAX_REPORT_BYTES", default=2_000_000)
PORTAL_ABUSE_MAX_BATCH = env.int("PORTAL_ABUSE_MAX_BATCH", default=500)
# Bounds on a report mail's headers, checked before Python's mail parser reads them (whose memory
# grows with the square of a field's encoded words): header bytes in the whole message (its parts
# and attached messages together) and in any header block read from a part's text; bytes of one
# field; fields in one block; RFC 2047 encoded words in one field; MIME parts. Beyond one, the
# report is rejected with the reason and kept (abuse/formats/header_limits.py).
PORTAL_ABUSE_MAX_HEADER_BYTES = env.int("PORTAL_ABUSE_MAX_HEADER_BYTES", default=65536)
PORTAL_ABUSE_MAX_HEADER_FIELD_BYTES = env.int("PORTAL_ABUSE_MAX_HEADER_FIELD_BYTES", default=16384)
PORTAL_ABUSE_MAX_HEADER_FIELDS = env.int("PORTAL_ABUSE_MAX_HEADER_FIELDS", default=500)
PORTAL_ABUSE_MAX_ENCODED_WORDS = env.int("PORTAL_ABUSE_MAX_ENCODED_WORDS", default=100)
PORTAL_ABUSE_MAX_MIME_PARTS = env.int("PORTAL_ABUSE_MAX_MIME_PARTS", default=100)
# Requests a reporter may make to the abuse API (DRF rate: number/second|minute|hour|day).
PORTAL_ABUSE_API_RATE = env.str("PORTAL_ABUSE_API_RATE", default="50000/hour")
# The API stores reports and a worker matches and weighs them: the web processes queue one such task
# per this many seconds between them (through the cache), so that a burst is taken in together.
PORTAL_ABUSE_TAKE_IN_INTERVAL = env.float("PORTAL_ABUSE_TAKE_IN_INTERVAL", default=0.1)
# Seconds between sweeps that take in reports and weigh recently reported accounts again: a lost task
# or a worker that died half-way delays a revocation by at most this. A sweep is a few indexed reads.
PORTAL_ABUSE_SWEEP_SECONDS = env.float("PORTAL_ABUSE_SWEEP_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE["abuse-sweep"] = {"task": "abuse.tasks.sweep", "schedule": PORTAL_ABUSE_SWEEP_SECONDS}
# The policy counts a report whose address was derived from the Received headers (no Source-IP)
# as this fraction of one whose reporter stated the address (abuse.sender).
PORTAL_ABUSE_DERIVED_WEIGHT = env.float("PORTAL_ABUSE_DERIVED_WEIGHT", default=0.5)
# Each temporary block after a burst on port 25 (abuse/traffic_policy.py) within the window counts
# as this many complaints beside the account's reports; never alone (abuse/policy.py). 0: not at all.
PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT = env.float("PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT", default=1.0)
# The mailbox feed (abuse.mailbox_feed): an IMAPS mailbox the feedback loops deliver to, polled
# every PORTAL_ABUSE_IMAP_POLL_SECONDS; each message is stored, then moved to the processed or
# rejected folder. No host: no feed. PORTAL_ABUSE_IMAP_CA_FILE trusts a private CA (else the system's).
PORTAL_ABUSE_IMAP_HOST = env.str("PORTAL_ABUSE_IMAP_HOST", default="")
PORTAL_ABUSE_IMAP_PORT = env.int("PORTAL_ABUSE_IMAP_PORT", default=993)
PORTAL_ABUSE_IMAP_USER = env.str("PORTAL_ABUSE_IMAP_USER", default="")
PORTAL_ABUSE_IMAP_PASSWORD = env.str("PORTAL_ABUSE_IMAP_PASSWORD", default="")
PORTAL_ABUSE_IMAP_FOLDERS = env.list("PORTAL_ABUSE_IMAP_FOLDERS", default=["INBOX"])
PORTAL_ABUSE_IMAP_PROCESSED = env.str("PORTAL_ABUSE_IMAP_PROCESSED", default="Processed")
PORTAL_ABUSE_IMAP_REJECTED = env.str("PORTAL_ABUSE_IMAP_REJECTED", default="Rejected")
PORTAL_ABUSE_IMAP_CA_FILE = env.str("PORTAL_ABUSE_IMAP_CA_FILE", default="")
PORTAL_ABUSE_IMAP_TIMEOUT = env.float("PORTAL_ABUSE_IMAP_TIMEOUT", default=30.0)
PORTAL_ABUSE_IMAP_POLL_SECONDS = env.float("PORTAL_ABUSE_IMAP_POLL_SECONDS", default=60.0)
# Mail to the abuse mailbox counts only when its reporter is authenticated (docs/abuse-evidence.md):
# an aligned DKIM signature, verified here, or the Authentication-Results of our own MX, trusted only
# under these authserv-ids (the name the MX writes first in the header; empty: none is trusted).
PORTAL_ABUSE_MAIL_AUTHSERV_IDS = [name.lower() for name in env.list("PORTAL_ABUSE_MAIL_AUTHSERV_IDS", default=[])]
if PORTAL_ABUSE_IMAP_HOST:
    CELERY_BEAT_SCHEDULE["abuse-mailbox"] = {
        "task": "abuse.tasks.poll_mailbox",
        "schedule": PORTAL_ABUSE_IMAP_POLL_SECONDS,
    }
# --- end of Abuse ----------------------------------------------------------------------

# --- Operating it ----------------------------------------------------------------------
# /metrics answers clients from these networks, or with `Authorization: Bearer <PORTAL_METRICS_TOKEN>`.
PORTAL_METRICS_ALLOW_NETWORKS = env.list("PORTAL_METRICS_ALLOW_NETWORKS", default=["127.0.0.0/8", "::1/128"])
PORTAL_METRICS_TOKEN = env.str("PORTAL_METRICS_TOKEN", default="")
# Seconds a scrape waits for workers to say which queues they consume (portal_celery_queue_consumers).
PORTAL_METRICS_INSPECT_TIMEOUT = env.float("PORTAL_METRICS_INSPECT_TIMEOUT", default=1.0)
# Seconds /readyz and /metrics wait for the broker to answer.
PORTAL_BROKER_PROBE_TIMEOUT = env.float("PORTAL_BROKER_PROBE_TIMEOUT", default=1.0)
# /readyz answers 503 when an enforcement target was not reconciled within this many seconds.
PORTAL_READY_RECONCILE_AGE = env.float("PORTAL_READY_RECONCILE_AGE", default=3 * PORTAL_EGRESS_RECONCILE_SECONDS)
# Celery keeps Django's logging (and so its JSON lines) instead of installing its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = PORTAL_LOG_FORMAT == "text"
# Errors to Sentry when a DSN is set (off by default); no personal data is sent.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )
# --- end of Operating it ---------------------------------------------------------------
