"""Every page names the portal's icon, and the icon is served (no 404 for /favicon.ico in the logs)."""

import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client


def test_customer_and_staff_pages_link_the_icon_and_it_exists(customer_client, admin_user):
    staff = Client()
    staff.force_login(admin_user)
    for body in (customer_client.get("/").content.decode(), staff.get("/admin/").content.decode()):
        (href,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', body)
        assert href.endswith("favicon.svg")
    path = finders.find("favicon.svg")
    assert path is not None and Path(path).read_text(encoding="utf-8").startswith("<svg")
