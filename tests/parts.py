"""Real parts the tests need (servers, tools, privileges): missing one fails in CI and skips elsewhere.

CI (`CI=true`, as `.ci/run` sets) installs and starts everything, so a part missing there is a
defect of the run, never a reason to pass quietly. On a developer's machine the skip says what
to install.
"""

import os
import shutil
from collections.abc import Iterable

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str | None) -> pytest.MarkDecorator:
    """A mark for tests that need a part: `reason` says what is missing and how to get it, or None."""
    if reason is None:
        return pytest.mark.skipif(False, reason="")  # a mark that does nothing (a bare usefixtures() warns)
    if in_ci():
        return pytest.mark.part_missing(reason=reason)
    return pytest.mark.skip(reason=reason)


def require(reason: str | None) -> None:
    """Inside a test or a fixture, where a mark cannot go: stop if a part is missing (fail in CI, skip elsewhere)."""
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"a part this test needs is missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def fail_if_part_missing(item: pytest.Item) -> None:
    """Called before each test (tests/conftest.py): in CI a missing part is a failure."""
    mark = item.get_closest_marker("part_missing")
    if mark is not None:
        pytest.fail(f"a part this test needs is missing in CI: {mark.kwargs['reason']}", pytrace=False)


def need_commands(commands: Iterable[str], install: str) -> str | None:
    """What is missing of `commands` (looked up on PATH and in /usr/sbin), with how to install it."""
    absent = [c for c in commands if not (shutil.which(c) or shutil.which(c, path="/usr/sbin:/usr/bin:/sbin"))]
    return f"needs {', '.join(absent)} ({install})" if absent else None


def need_env(*names: str, what: str) -> str | None:
    absent = [n for n in names if not os.environ.get(n)]
    return f"needs {what} ({', '.join(absent)}; scripts/test sets them)" if absent else None


def need_postgres(what: str) -> str | None:
    """PostgreSQL as the tests' database (scripts/test starts one and points DATABASE_URL at it)."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return None
    return f"needs PostgreSQL for {what} (DATABASE_URL; scripts/test starts one)"


def need_redis() -> str | None:
    return need_env("PORTAL_REDIS_URL", what="the Redis that scripts/test starts")


def need_root(what: str) -> str | None:
    return None if os.geteuid() == 0 else f"needs root to {what}"


def first_missing(*reasons: str | None) -> str | None:
    return next((r for r in reasons if r), None)
