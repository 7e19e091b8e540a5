"""The steps a live-stack deployment (tests/harnesses/live_stack.py) runs inside its own environment,
as `python -m tests.harnesses.live_steps seed '<json spec>' | collectstatic`: Django set up with the
deployment's settings, in a process of its own.
"""

import json
import sys

from tests.harnesses.live_stack import PASSWORD, staff_codes


def seed(spec: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import Account, CustomerToken, User
    from accounts.services import record_server, register_customer

    call_command("setup_staff_groups", verbosity=0)
    tag = spec["tag"]
    customers = []
    for i in range(spec["customers"]):
        ipv4, ipv6 = f"127.{1 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}", f"2001:db8:25::{i + 1:x}"
        ipv4 = spec.get("ipv4", {}).get(str(i), ipv4)  # e.g. 127.0.0.1, where a test's mail server listens
        # No password yet: hashing is slow on purpose, so every user gets the one hash below.
        user = register_customer(f"customer{i}-{tag}@load.test", None, f"Load customer {i}")
        account = user.membership.account
        record_server(account, f"vm-{tag}-{i}", f"vm{i}.load.test", [ipv4, ipv6])
        token = CustomerToken.issue(user=user, name="load test")[1]
        customers.append({"email": user.email, "token": token, "account": account.pk, "ips": [ipv4, ipv6]})
    # Verified, as the provider's control panel would record it: reviewers may approve them.
    Account.objects.filter(pk__in=[c["account"] for c in customers]).update(
        identity_verified_at=timezone.now(), payment_verified_at=timezone.now()
    )
    group = Group.objects.get(name="Support reviewer")
    reviewers = []
    for i in range(spec["reviewers"]):
        reviewer = User.objects.create_user(email=f"reviewer{i}-{tag}@load.test", password=None, is_staff=True)
        reviewer.groups.add(group)
        reviewers.append(reviewer.email)
    admin = User.objects.create_superuser(email=f"admin-{tag}@load.test", password=None)
    # Staff pass the second factor with recovery codes the harness can compute (staff_codes).
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    for email in [*reviewers, admin.email]:
        device = StaticDevice.objects.create(user=User.objects.get(email=email), name="recovery codes")
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in staff_codes(email))
    User.objects.filter(email__endswith=f"-{tag}@load.test").update(password=make_password(PASSWORD))
    reporters = []
    if spec.get("reporters"):
        from abuse.models import Reporter, ReporterToken

        for i in range(spec["reporters"]):
            reporter = Reporter.objects.create(name=f"Feedback loop {i} {tag}", contact=f"fbl{i}@load.test")
            reporters.append(ReporterToken.issue(reporter=reporter, name="load test")[1])
    return {
        "customers": customers,
        "reviewers": reviewers,
        "superuser": admin.email,
        "reporters": reporters,
        "staff_codes": {email: staff_codes(email) for email in [*reviewers, admin.email]},
    }


def collectstatic() -> None:
    """`collectstatic` into var/staticfiles (STATIC_ROOT) with the manifest the pages need, but without
    whitenoise's gzip/brotli copies: those take ~40 s on two cores and change nothing we measure."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    manifest_only = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": manifest_only}
    call_command("collectstatic", interactive=False, verbosity=0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        print(json.dumps(seed(json.loads(sys.argv[2]))))
    elif sys.argv[1:2] == ["collectstatic"]:
        collectstatic()
    else:
        sys.exit("usage: python -m tests.harnesses.live_steps seed '<json spec>' | collectstatic")
