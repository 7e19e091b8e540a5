"""Fixtures of the tests on the live stack (tests/test_faults_*.py, tests/test_load.py).

A plugin of tests/conftest.py's `pytest_plugins`: imported into a test module, a fixture would be a
name its test functions redefine (ruff's F811).
"""

import pytest

from tests.harnesses.live_stack import shared_cluster


@pytest.fixture(scope="module")
def cluster(request):
    return shared_cluster(request.config)


@pytest.fixture
def deploy(cluster, check_zone):
    """Start a deployment (database, Redis, later gunicorn and workers); everything stops after the test."""
    portals = []

    def make(name: str, **env: str):
        portals.append(cluster.portal(name, check_zone.nameserver, **env))
        return portals[-1]

    yield make
    for portal in portals:
        portal.stop()
