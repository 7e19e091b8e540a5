"""PostgreSQL prepares the statements a process runs again and again, unless a pooler forbids it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from abuse.models import AbuseReport
from tests.parts import missing, need_postgres

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = 'SELECT $_ AS "a" FROM "abuse_abusereport" WHERE "abuse_abusereport"."reference" = $_ LIMIT 1'


def database_options(**env: str) -> dict:
    """settings.DATABASES["default"]["OPTIONS"] as a process of its own builds them from `env` (reading
    the settings loads them: the apps, which django.setup() would load too, change none of it)."""
    code = (
        "import json; from django.conf import settings;"
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_binds_on_the_server_and_prepares_after_five_runs():
    options = database_options(DATABASE_URL="postgres://portal@db:5432/portal")

    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    options = database_options(DATABASE_URL="postgres://portal@db:5432/portal", PORTAL_DB_PREPARED_STATEMENTS="false")

    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


def test_the_embedded_sqlite_default_has_no_such_options():
    options = database_options(DATABASE_URL="sqlite:////tmp/portal-test.sqlite3")

    assert "server_side_binding" not in options


@missing(need_postgres("the server's prepared statements"))
@pytest.mark.django_db
def test_a_query_run_again_is_prepared_once_on_the_server():
    for reference in ["a", "b", "c", "d", "e", "f", "g"]:
        AbuseReport.objects.filter(reference=reference).exists()

    # The connection may have served other tests: this lookup is prepared once, the reference a
    # parameter ($2 after the selected constant), so that every reference uses the same plan.
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [LOOKUP])
        statements = [row[0] for row in cursor.fetchall()]
    assert len(statements) == 1
