"""Make the README's screenshots from the demo data: a throw-away SQLite portal, Chromium, small PNGs.

    .venv/bin/python scripts/readme_screenshots.py      # writes docs/screenshots/*.png

It migrates a database in a temporary folder, loads `seed_demo` and one demo request with a
reviewer's question, serves it with `runserver` on a free port, signs in as the demo customer and the
demo reviewer (password, then the TOTP code of the demo key) and stops the server by its PID.
"""

import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict[str, str]) -> int:
    """The demo data, and a request waiting on the customer's answer; returns the request's id."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.management.commands.seed_demo import CUSTOMER_EMAIL, REVIEWER_EMAIL
    from accounts.models import User
    from requests_app import review
    from requests_app.lifecycle import transition
    from requests_app.models import Status
    from requests_app.services import submit_request
    from tests.request_answers import personal_server_answers

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    customer = User.objects.get(email=CUSTOMER_EMAIL)
    account = customer.membership.account
    answers = personal_server_answers(
        company_name="Demo Hosting Ltd",
        company_website="https://demo-hosting.example.net",
        sending_domain="demo-hosting.example.net",
        mail_server_hostname="mail.demo-hosting.example.net",
        mail_server_ip="203.0.113.10",
    )
    request = submit_request(account, customer, answers)
    transition(request.pk, Status.AWAITING_REVIEW, actor=None, message="Automated checks finished.")
    reviewer = User.objects.get(email=REVIEWER_EMAIL)
    review.assign(request.pk, reviewer, reviewer)
    review.ask_for_information(
        request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Which domains will send from it?"
    )
    return request.pk


def wait_until_up(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)  # noqa: S310 - our own http URL
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the portal did not answer at {url}")


def shoot(url: str, request_id: int) -> None:
    from django_otp.oath import TOTP
    from playwright.sync_api import sync_playwright

    from accounts.management.commands.seed_demo import CUSTOMER_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, REVIEWER_EMAIL
    from tests.browser_fixtures import CHROMIUM_ARGS

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        desk = browser.new_context(base_url=url, viewport={"width": 1280, "height": 860})
        page = desk.new_page()
        page.goto("/admin/login/?next=/admin/")
        page.locator("#id_username").fill(REVIEWER_EMAIL)
        page.locator("#id_password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("textbox", name="Code").fill(f"{TOTP(base64.b32decode(DEMO_TOTP_SECRET)).token():06d}")
        page.get_by_role("button", name="Verify").click()
        page.goto(f"/admin/requests_app/unblockrequest/{request_id}/change/")
        page.screenshot(path=OUT / "reviewer-request.png")
        page.goto("/admin/requests_app/unblockrequest/?queue=needs_info")
        page.screenshot(path=OUT / "reviewer-queue.png")

        for name, viewport in (("customer-port25", (1280, 860)), ("customer-request-phone", (390, 844))):
            context = browser.new_context(base_url=url, viewport={"width": viewport[0], "height": viewport[1]})
            customer = context.new_page()
            customer.goto("/accounts/login/")
            customer.get_by_label("Email address").fill(CUSTOMER_EMAIL)
            customer.get_by_label("Password").fill(DEMO_PASSWORD)
            customer.get_by_role("button", name="Sign in").click()
            if name == "customer-request-phone":
                customer.goto(f"/requests/{request_id}/")
            customer.screenshot(path=OUT / f"{name}.png")
            context.close()
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-screens-") as folder:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": f"sqlite:///{folder}/demo.sqlite3",
            "PORTAL_DEBUG": "1",
            "PORTAL_BASE_URL": url,
            "PORTAL_BROKER_URL": "memory://",  # nothing here needs a worker
        }
        request_id = prepare(env)
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(url, time.monotonic() + 60)
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            shoot(url, request_id)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
