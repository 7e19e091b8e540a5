import ipaddress
from collections.abc import Iterable

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.urls import reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.hostnames import normalise_hostname
from accounts.models import Account
from accounts.public_ip import is_public_ip
from accounts.selectors import active_addresses
from common.single_line import SingleLineFormMixin
from requests_app import field_validators
from requests_app.models import ANSWER_FIELDS, UnblockRequest
from requests_app.use_case_rules import apply_use_case_rules


def clean_sending_ip(addresses: Iterable[str], value: str) -> str:
    """The sending IP, normalised, if it is one of `addresses` (the account's own server addresses)
    and a public one: the checks refuse any other, so a request for it could never pass."""
    normalised = ipaddress.ip_address(value.strip()).compressed
    if not is_public_ip(normalised):
        raise forms.ValidationError(
            _(
                "%(ip)s is not a public Internet address, so the checks cannot test it and port 25 would"
                " not help it. Use the public IP of the server that sends."
            ),
            params={"ip": normalised},
        )
    if normalised not in {ipaddress.ip_address(ip).compressed for ip in addresses}:
        raise forms.ValidationError(
            _("%(ip)s is not an address of one of your servers. Use the public IP of the server that sends."),
            params={"ip": normalised},
        )
    return normalised


def volume_validators() -> list:
    return [
        MinValueValidator(1, _("Enter how many emails you send per day, at least 1.")),
        MaxValueValidator(
            settings.PORTAL_MAX_DAILY_VOLUME,
            _("That is more than %(limit)s emails a day; contact sales for bulk sending.")
            % {"limit": f"{settings.PORTAL_MAX_DAILY_VOLUME:,}"},
        ),
    ]


class UnblockRequestForm(SingleLineFormMixin, forms.ModelForm):
    company_website = forms.URLField(
        label=_("Company website"),
        max_length=500,
        required=False,
        help_text=_("Reviewers compare it with your sending domain. Not needed for a personal mail server."),
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com"}),
        error_messages={"invalid": _("Enter a full web address, for example https://example.com.")},
    )
    unsubscribe_url = forms.URLField(
        label=_("Unsubscribe link"),
        max_length=500,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/unsubscribe"}),
        error_messages={"invalid": _("Enter a full web address, for example https://example.com/unsubscribe.")},
    )
    mail_server_ip = forms.GenericIPAddressField(
        label=_("Sending IP address"),
        help_text=_("The address of your server that will connect to other mail servers on port 25."),
        error_messages={"invalid": _("Enter an IPv4 or IPv6 address, for example 203.0.113.10.")},
    )
    accept_aup = forms.BooleanField(
        label=_("I have read and accept the acceptable-use policy"),
        help_text=format_lazy(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse_lazy("acceptable_use"),
            _("Read the acceptable-use policy"),
        ),
        error_messages={"required": _("You must accept the acceptable-use policy to file a request.")},
    )

    class Meta:
        model = UnblockRequest
        fields = ANSWER_FIELDS
        widgets = {
            "use_case_description": forms.Textarea(attrs={"rows": 3}),
            "optin_description": forms.Textarea(attrs={"rows": 3}),
            "email_template": forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
            "threat_mitigation": forms.Textarea(attrs={"rows": 4}),
            "sending_domain": forms.TextInput(attrs={"placeholder": "example.com"}),
            "mail_server_hostname": forms.TextInput(attrs={"placeholder": "mail.example.com"}),
        }
        labels = {"company_name": _("Company name, or your own name")}
        help_texts = {
            "company_name": _("Who the mail comes from. Running a mail server for yourself? Give your name."),
            "sending_domain": _("The domain in your From: addresses; the checks look up its SPF, DMARC and MX."),
            "daily_volume": _("A realistic estimate for a normal day; large volumes get a second reviewer."),
            "mail_server_hostname": _("The checks look at its reverse DNS and make sure it relays for nobody else."),
            "use_case_description": _("Who receives the mail and why."),
            "optin_description": _("For example: double opt-in from the sign-up form on our website."),
            "email_template": _("Paste a typical message, text or HTML."),
            "threat_mitigation": _(
                "Antivirus, outbound spam filtering, rate limits, how you detect a compromised account."
            ),
        }

    def __init__(self, *args, account: Account, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["daily_volume"].validators = volume_validators()
        self.fields["daily_volume"].widget.attrs.update({"min": 1, "max": settings.PORTAL_MAX_DAILY_VOLUME})
        self.fields["email_template"].validators.append(field_validators.validate_template_size)
        self.fields["company_website"].validators.append(field_validators.validate_public_url)
        self.fields["unsubscribe_url"].validators.append(field_validators.validate_public_url)
        registered = active_addresses(account)
        # Only the account's own public addresses can be picked: the form never offers one the checks refuse.
        self.addresses = [ip for ip in registered if is_public_ip(ip)]
        self.not_public = [ip for ip in registered if ip not in self.addresses]
        self.fields["mail_server_ip"].widget = forms.Select(
            choices=[("", _("Pick the address that sends")), *((ip, ip) for ip in self.addresses)]
        )

    def clean_sending_domain(self) -> str:
        return normalise_hostname(self.cleaned_data["sending_domain"])

    def clean_mail_server_hostname(self) -> str:
        return normalise_hostname(self.cleaned_data["mail_server_hostname"])

    def clean_mail_server_ip(self) -> str:
        return clean_sending_ip(self.addresses, self.cleaned_data["mail_server_ip"])

    def clean(self) -> dict:
        cleaned = super().clean()
        for field, message in apply_use_case_rules(cleaned).items():
            self.add_error(field, message)
        return cleaned

    def _post_clean(self) -> None:
        # The instance is built by the service, not here: skip the model's unique checks,
        # whose message would not fit this form (the service says it better).
        pass


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        error_messages={"required": _("Write your answer to the reviewer's question.")},
    )
