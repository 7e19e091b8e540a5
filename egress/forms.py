"""The staff form that blocks or unblocks an account's port 25 by hand."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from egress.models import EgressState


class DecisionForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account ID"),
        queryset=Account.objects.all(),
        to_field_name="reference",
        widget=forms.TextInput(attrs={"size": 40}),
        help_text=_("The account's UUID, as shown on the account page."),
        error_messages={"invalid_choice": _("No account has this ID.")},
    )
    state = forms.ChoiceField(label=_("Port 25"), choices=EgressState.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text=_("Kept in the account's egress history; the customer sees it on their port-25 page."),
    )
