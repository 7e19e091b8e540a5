"""Production settings pass Django's deployment check; every page carries the security headers."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def production_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL", "EMAIL_URL"))}
    env.update(PORTAL_SECRET_KEY=secrets.token_urlsafe(50), PORTAL_ALLOWED_HOSTS="portal.example.net", **extra)
    return env


def test_deploy_check_is_clean_with_production_settings():
    """Among others: HTTPS redirect, HSTS, secure and HttpOnly session and CSRF cookies (security.W004-W021)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["PORTAL_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("url_name", ["login", "signup", "api-docs", "admin:login"])
def test_pages_carry_security_headers(client, db, url_name):
    response = client.get(reverse(url_name), secure=True)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp + ";" and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp or (url_name == "api-docs" and "style-src 'self' 'unsafe-inline'" in csp)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_plain_http_is_redirected_to_https_except_the_health_check(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    browser = Client()  # a fresh handler reads the setting
    response = browser.get(reverse("login"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert browser.get(reverse("healthz")).status_code == 200

