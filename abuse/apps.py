from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AbuseConfig(AppConfig):
    name = "abuse"
    verbose_name = _("Abuse reports")

    def ready(self) -> None:
        from abuse import tasks  # noqa: F401  registered in every process: the intake queues one by name
        from abuse.receivers import on_egress_decision
        from egress.signals import decided

        decided.connect(on_egress_decision, dispatch_uid="abuse.close_on_reopen")

        from abuse.receivers import on_traffic_observed
        from egress.signals import traffic_observed

        traffic_observed.connect(on_traffic_observed, dispatch_uid="abuse.weigh_traffic")
