"""Make the README's screenshots from the demo data: a throw-away SQLite portal, Chromium, small PNGs.

    .venv/bin/python scripts/readme_screenshots.py      # writes docs/screenshots/*.png

It migrates a database in a temporary folder, loads the demo data (seed_demo, seed_demo_abuse,
seed_demo_requests: a customer in each state), serves it with `runserver` on a free port, signs in as
the demo reviewer (password, then the TOTP code of the demo key) and each demo customer, and stops the
server by its PID. The reviewer's request page at 1280 and 1920 px, the queue, the customer's home in
each state and the request page at a phone's width.
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
    """The demo data (a customer in each state, requests with their checks); returns the id of the
    request awaiting review."""
    os.environ.update(env)
    import django

    django.setup()
    from requests_app.models import Status, UnblockRequest
    from scripts.demo_data import migrate_and_seed

    migrate_and_seed(verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115 - closed at exit
    return UnblockRequest.objects.get(status=Status.AWAITING_REVIEW).pk


def wait_until_up(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)  # noqa: S310 - our own http URL
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the portal did not answer at {url}")


# The customer's home in each state: (file name, log-in).
HOMES = (
    ("customer-home-blocked", "customer@demo.test"),
    ("customer-home-pending", "waiting@demo.test"),
    ("customer-home-question", "question@demo.test"),
    ("customer-home-open", "approved@demo.test"),
    ("customer-home-rejected", "rejected@demo.test"),
    ("customer-home-revoked", "revoked@demo.test"),
)


def shoot(url: str, request_id: int) -> None:
    from django_otp.oath import TOTP
    from playwright.sync_api import sync_playwright

    from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, REVIEWER_EMAIL
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
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.screenshot(path=OUT / "reviewer-request-1920.png")
        page.set_viewport_size({"width": 1280, "height": 860})
        page.goto("/admin/requests_app/unblockrequest/")
        page.screenshot(path=OUT / "reviewer-queue.png")
        desk.close()

        for name, email in HOMES:
            customer = signed_in(browser, url, email, (1280, 860))
            customer.screenshot(path=OUT / f"{name}.png")
            customer.context.close()
        phone = signed_in(browser, url, "question@demo.test", (390, 844))
        phone.get_by_role("link", name="Answer the question").first.click()
        phone.screenshot(path=OUT / "customer-request-phone.png")
        phone.context.close()
        browser.close()


def signed_in(browser, url: str, email: str, viewport: tuple[int, int]):
    """A page of a new browser context, signed in as the demo customer `email`, on the home page."""
    from accounts.management.commands.seed_demo import DEMO_PASSWORD

    context = browser.new_context(base_url=url, viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


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
            "PORTAL_CHECK_ALLOW_NETWORKS": "203.0.113.0/24,2001:db8::/32",  # the demo servers' addresses
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
