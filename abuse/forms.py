"""Forms of the abuse app: the customer's answer, and the abuse desk's steps in the admin."""

from django import forms
from django.utils.translation import gettext_lazy as _

from abuse.models import Category
from common.single_line import SingleLineFormMixin


class FixForm(forms.Form):
    note = forms.CharField(
        label=_("What did you find and fix?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        help_text=_(
            "For example: which account or script sent the mail, what you removed or changed, how you "
            "will notice next time. The abuse desk reads this before deciding."
        ),
    )


class NoteForm(forms.Form):
    """Reinstate, or require a new request: the note is what the customer reads."""

    note = forms.CharField(
        label=_("Note to the customer"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        max_length=4000,
        help_text=_("Kept on the account's abuse timeline and sent to the customer."),
    )


class StaffReportForm(SingleLineFormMixin, forms.Form):
    """A report filed by hand by the abuse desk (a phone call, a forwarded complaint); its cleaned
    data are a ReportInput's fields."""

    source_ip = forms.GenericIPAddressField(label=_("Source IP"), unpack_ipv4=True)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    occurred_at = forms.DateTimeField(label=_("Time of the incident"), help_text=_("UTC, e.g. 2026-11-23 14:05."))
    reference = forms.CharField(label=_("Reference"), max_length=255, required=False)
    reported_domain = forms.CharField(label=_("Reported domain"), max_length=253, required=False)
    original_mail_from = forms.CharField(label=_("Envelope sender"), max_length=320, required=False)
    evidence = forms.CharField(
        label=_("Evidence"), widget=forms.Textarea(attrs={"rows": 8, "cols": 80}), max_length=100_000
    )

    def clean_evidence(self) -> dict:
        """Evidence as every channel stores it (abuse.reports.ReportInput): an object, here a text."""
        return {"text": self.cleaned_data["evidence"]}
