"""What each pytest-xdist worker (`-n N`, as scripts/test runs the suite) needs of its own, and which
tests must share a worker.

A plugin of tests/conftest.py's `pytest_plugins`, loaded once Django has read its settings and
before Celery reads them:

- the test database: pytest-django already suffixes it per worker (`test_portal_gw0`, ...);
- Redis: a block of `REDIS_DBS_PER_WORKER` database indexes per worker. The broker and
  `tests.conftest.redis_url(n)` count from the block's first index, so no worker flushes, purges or
  takes from another's queue (scripts/test starts Redis with enough databases for 8 workers);
- scheduling: the tests of one file run on one worker, so that a module's servers start once, and
  the files of a `SHARED_GROUPS` group run on one worker together (the live stack's cluster, say,
  starts on one worker only, and the browser tests run one after another in one Chromium); the
  longest of these units are handed out first (`LONGEST_SCOPES`).
"""

import os

import pytest
from django.conf import settings
from xdist.scheduler import LoadScopeScheduling

REDIS_DBS_PER_WORKER = 8

# Files whose tests share a server the session starts once (tests/harnesses/live_stack.py's cluster:
# PostgreSQL with the schema migrated), and the fixture that marks such a test.
SHARED_GROUPS = {
    "live-stack": {
        "fixture": "cluster",
        "files": {
            "tests/test_faults_firewall.py",
            "tests/test_faults_services.py",
            "tests/test_faults_workers.py",
            "tests/test_load.py",
            "tests/test_operator_view_live.py",
        },
    },
    # One Chromium for the files that drive it, started once (tests/browser_fixtures.py), not once a file.
    "browser": {
        "fixture": "browser",
        "files": {
            "tests/test_accessibility_browser.py",
            "tests/test_api_tokens_browser.py",
            "tests/test_browser_journey.py",
            "tests/test_csp_browser.py",
            "tests/test_customer_first_hour_browser.py",
            "tests/test_pipeline_browser.py",
            "tests/test_review_browser.py",
            "tests/test_review_desk_browser.py",
            "tests/test_staff_layout_browser.py",
            "tests/test_traffic_staff_pages_browser.py",
            "tests/test_two_factor_browser.py",
        },
    },
}


# The units that hold a worker longest, in seconds of one worker (a run of the suite on 2 workers, the
# 2-core machine). xdist hands units out by their number of tests, so these long ones of few tests came
# last, and the run ended with one worker idle while the other went through one of them. The costliest
# unit left goes first instead; any other is costed at SECONDS_PER_TEST a test.
LONGEST_SCOPES = {
    "live-stack": 190,
    "browser": 125,
    "tests/test_embedded_default.py": 45,
}
SECONDS_PER_TEST = 0.15


def costliest(scopes: dict[str, int]) -> str:
    """Of units and their numbers of tests, the one to hand out next (longest processing time first)."""
    return max(scopes, key=lambda scope: LONGEST_SCOPES.get(scope, SECONDS_PER_TEST * scopes[scope]))


def worker_index() -> int:
    """0 for `gw0` and for a run without workers, 1 for `gw1`, ..."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def _with_database(url: str, index: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{index}"


def _give_this_worker_its_redis_databases() -> None:
    """For this process and the servers and workers the tests start (they inherit the environment)."""
    base = worker_index() * REDIS_DBS_PER_WORKER
    for name in ("PORTAL_REDIS_URL", "PORTAL_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith("redis://"):
            os.environ[name] = _with_database(url, base)
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        settings.CELERY_BROKER_URL = _with_database(settings.CELERY_BROKER_URL, base)


_give_this_worker_its_redis_databases()


class FileAndGroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with a file as the scope, or the file's group in SHARED_GROUPS."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return next((name for name, group in SHARED_GROUPS.items() if path in group["files"]), path)

    def _assign_work_unit(self, node: object) -> None:
        next_scope = costliest({scope: len(tests) for scope, tests in self.workqueue.items()})
        self.workqueue.move_to_end(next_scope, last=False)
        super()._assign_work_unit(node)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling:
    return FileAndGroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _name_each_test_once(items)
    for item in items:
        for name, group in SHARED_GROUPS.items():
            if group["fixture"] in item.fixturenames and item.nodeid.split("::", 1)[0] not in group["files"]:
                raise pytest.UsageError(
                    f"{item.nodeid} uses `{group['fixture']}`: add its file to {name} in {__name__}"
                )


def _name_each_test_once(items: list[pytest.Item]) -> None:
    """xdist hands tests to workers by node id, and runs only one of several with the same id:
    schemathesis' tests (tests/test_api_fuzz.py, one per API operation) all carry the function's id
    under pytest 9 (schemathesis sets the private `_nodeid` that pytest 9 no longer reads)."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    for item in items:
        if seen[item.nodeid] > 1:
            item._id = item.parent.id.child(item.name)
