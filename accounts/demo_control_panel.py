"""A stand-in for the provider's control panel, for the embedded demo only (PORTAL_DEMO_CONTROL_PANEL).

In production the provider's own control panel creates servers and completes verifications, and tells
the portal through the platform API. The demo has no such panel, so a newcomer could never add a
server or get verified: this page does what the platform would, through the same services, and says
plainly that it is the provider's, not the portal's. Off by default: a 404 unless the setting is on.
"""

import ipaddress
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.hostnames import normalise_hostname
from accounts.models import Account, ServerAddress
from accounts.public_ip import is_public_ip
from accounts.selectors import acting_account, servers_of
from accounts.services import record_server


class ServerForm(forms.Form):
    hostname = forms.CharField(label=gettext_lazy("Host name"), max_length=253)
    address = forms.GenericIPAddressField(label=gettext_lazy("Public IP address"))

    def clean_hostname(self) -> str:
        return normalise_hostname(self.cleaned_data["hostname"])

    def clean_address(self) -> str:
        address = ipaddress.ip_address(self.cleaned_data["address"])
        if not is_public_ip(address):
            raise forms.ValidationError(_("Not a public Internet address: the checks would refuse it."))
        if ServerAddress.objects.active().filter(ip=address.compressed).exclude(server__account=self.account).exists():
            raise forms.ValidationError(_("Another account's server holds this address."))
        return address.compressed

    def __init__(self, *args, account: Account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.account = account


@login_required
@require_http_methods(["GET", "POST"])
def control_panel(request: HttpRequest) -> HttpResponse:
    if not settings.PORTAL_DEMO_CONTROL_PANEL:
        raise Http404(_("There is no demo control panel here."))
    account = acting_account(request.user)
    form = ServerForm(request.POST if request.POST.get("action") == "server" else None, account=account)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("identity", "payment"):
            account.record_verification(action, None)  # as the platform's integration records it
            messages.success(request, _("Verified, as the provider's control panel would tell the portal."))
            return redirect("demo_control_panel")
        if action == "server" and form.is_valid():
            data = form.cleaned_data
            record_server(account, f"demo-{secrets.token_hex(4)}", data["hostname"], [data["address"]])
            messages.success(request, _("Server created: the portal lists it on your port 25 page."))
            return redirect("demo_control_panel")
    context = {"account": account, "servers": servers_of(account), "form": form}
    return render(request, "accounts/demo_control_panel.html", context)
