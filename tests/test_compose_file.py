"""The deployment files stay valid and in step with the settings (no database needed).

`docker-compose config` only parses and interpolates docker-compose.yml: no Docker
engine is needed. `.env.example` must document every variable settings.py reads.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.parts import need_commands, require

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "checks-worker", "egress-worker", "beat")
BACKING_SERVICES = ("postgres", "redis")
MONITORING_SERVICES = ("prometheus", "grafana")  # the `monitoring` profile
GATEWAY_SERVICES = ("gateway-secrets", "gateway")
# env.bool("NAME", ...), env.str(...), env.list(...), env.db_url(...), env.email_url(...), ...
ENV_READ = re.compile(r"""\benv\.[a-z_]+\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def _docker_compose() -> str:
    require(need_commands(["docker-compose"], "Debian: docker-compose; scripts/test installs it"))
    return "docker-compose"


def _compose_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # An empty --env-file keeps a developer's own .env out of the result.
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    # Nor may the caller's PORTAL_* (scripts/test exports PORTAL_SECRET_KEY) or COMPOSE_* leak in.
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "COMPOSE_")) and key not in {"DATABASE_URL", "EMAIL_URL"}
    }
    return subprocess.run(
        [
            _docker_compose(),
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(empty_env_file),
            "-f",
            str(COMPOSE_FILE),
            "config",
        ],
        capture_output=True,
        text=True,
        env={**clean_env, **env},
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict:
    result = _compose_config(
        tmp_path_factory.mktemp("compose"), PORTAL_SECRET_KEY="compose-test-key", PORTAL_POSTGRES_PASSWORD="pg-test-pw"
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert isinstance(config, dict), result.stdout
    return config


def _depends_on(service: dict) -> dict[str, str | None]:
    """Service name -> condition, whether the file used the list or the mapping form."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps)
    return {name: (spec or {}).get("condition") for name, spec in deps.items()}


def _named_volumes(service: dict) -> set[str]:
    names = set()
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type", "volume") == "volume" and volume.get("source"):
                names.add(volume["source"])
        else:
            source = str(volume).split(":", 1)[0]
            if source and not source.startswith((".", "/", "~")):
                names.add(source)
    return names


def test_compose_has_every_service(compose: dict) -> None:
    assert set(compose["services"]) == {*BACKING_SERVICES, *APP_SERVICES, *MONITORING_SERVICES, *GATEWAY_SERVICES}


def test_one_gateway_runs_with_net_admin_only_and_is_the_portals_enforcement_target(compose: dict) -> None:
    gateway = compose["services"]["gateway"]
    assert (gateway["cap_add"], gateway["cap_drop"]) == (["NET_ADMIN"], ["ALL"])
    assert gateway["environment"]["GATEWAY_TLS_CERT"], "it listens beyond loopback: TLS"
    targets = json.loads(compose["services"]["egress-worker"]["environment"]["PORTAL_EGRESS_TARGETS"])
    assert targets == {
        "gateway": {
            "backend": "http",
            "url": "https://gateway:8025/v1/port25",
            "token_file": "/gateway-secrets/token",
            "ca_file": "/gateway-secrets/ca.pem",
        }
    }


def test_monitoring_runs_only_in_its_profile_with_the_shipped_config(compose: dict) -> None:
    for name in MONITORING_SERVICES:
        assert compose["services"][name]["profiles"] == ["monitoring"]
        assert compose["services"][name]["healthcheck"]["test"]
    mounts = {str(volume.get("source", "")) if isinstance(volume, dict) else str(volume).split(":")[0]
              for volume in compose["services"]["prometheus"]["volumes"]}  # fmt: skip
    assert any(mount.endswith("deploy/prometheus") for mount in mounts)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(compose: dict, name: str) -> None:
    deps = _depends_on(compose["services"][name])
    for backing in BACKING_SERVICES:
        assert backing in deps, f"{name} does not depend on {backing}"
        assert deps[backing] == "service_healthy", f"{name} starts before {backing} is healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_database_broker_and_secret(compose: dict, name: str) -> None:
    environment = compose["services"][name]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["PORTAL_BROKER_URL"].startswith("redis://redis:6379/")
    assert environment["PORTAL_SECRET_KEY"] == "compose-test-key"


@pytest.mark.parametrize("name", ["postgres", "redis", "web"])
def test_healthchecks(compose: dict, name: str) -> None:
    healthcheck = compose["services"][name].get("healthcheck") or {}
    assert not healthcheck.get("disable"), f"{name} has its health check disabled"
    assert healthcheck.get("test"), f"{name} has no health check"


def test_web_healthcheck_calls_readyz(compose: dict) -> None:
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert "/readyz" in " ".join(test if isinstance(test, list) else [test])


def test_data_lives_in_named_volumes(compose: dict) -> None:
    declared = set(compose.get("volumes") or {})
    for name in BACKING_SERVICES:
        used = _named_volumes(compose["services"][name])
        assert used, f"{name} keeps its data in no named volume"
        assert used <= declared, f"{name} uses undeclared volumes {used - declared}"


def test_compose_refuses_to_run_without_a_secret_key(tmp_path: Path) -> None:
    result = _compose_config(tmp_path, PORTAL_POSTGRES_PASSWORD="pg-test-pw")
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY" in result.stderr


def test_the_database_password_comes_from_the_environment_and_is_required(tmp_path: Path, compose: dict) -> None:
    result = _compose_config(tmp_path, PORTAL_SECRET_KEY="compose-test-key")
    assert result.returncode != 0
    assert "PORTAL_POSTGRES_PASSWORD" in result.stderr
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-test-pw"
    assert compose["services"]["web"]["environment"]["DATABASE_URL"] == "postgres://portal:pg-test-pw@postgres:5432/portal"
    assert "portal:portal@" not in COMPOSE_FILE.read_text()


def test_env_example_documents_every_setting() -> None:
    settings_source = (ROOT / "portal" / "settings.py").read_text()
    names = set(ENV_READ.findall(settings_source))
    # The regex must keep finding what settings.py reads, or this test proves nothing.
    assert {"PORTAL_SECRET_KEY", "DATABASE_URL", "EMAIL_URL", "PORTAL_DEBUG"} <= names
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert sorted(names - documented) == []


def test_env_example_documents_compose_variables() -> None:
    compose_source = COMPOSE_FILE.read_text()
    names = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_source))
    assert "PORTAL_SECRET_KEY" in names
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert sorted(names - documented) == []
