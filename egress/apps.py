from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class EgressConfig(AppConfig):
    name = "egress"
    verbose_name = _("Port-25 egress")

    def ready(self) -> None:
        from accounts.signals import inventory_changed
        from egress.checks import check_targets
        from egress.receivers import on_inventory_changed

        inventory_changed.connect(on_inventory_changed, dispatch_uid="egress.follow_inventory")
        checks.register(check_targets)

        from egress import tasks  # noqa: F401  registered in every process: the outbox queues one by name
