"""`manage.py check` (and every server start) reports a mistyped egress target at once."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from egress.targets import adapter_for, target_names


def check_targets(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    if not target_names():
        errors.append(checks.Error("PORTAL_EGRESS_TARGETS names no target.", id="egress.E001"))
    for name in target_names():
        try:
            adapter_for(name)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="egress.E002"))
    return errors
