from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EgressConfig(AppConfig):
    name = "egress"
    verbose_name = _("Port-25 egress")
