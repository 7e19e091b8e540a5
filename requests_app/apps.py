from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Unblock requests")

    def ready(self) -> None:
        from requests_app import tasks  # noqa: F401  registered in every process: check_flow queues one by name
