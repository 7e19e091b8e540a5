"""Forms behind the reviewer's buttons; each carries the status the reviewer saw.

Their single-line fields refuse control characters like every other form's (common.single_line)."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from common.single_line import SingleLineFormMixin
from requests_app.models import ReasonTemplate, Status


class ReviewForm(SingleLineFormMixin, forms.Form):
    expected_status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)


class ConfirmForm(SingleLineFormMixin, forms.Form):
    """An action with nothing to fill in: the page itself is the confirmation."""


class ApproveForm(ReviewForm):
    note = forms.CharField(label=_("Note to the customer (optional)"), required=False, widget=forms.Textarea)

    def __init__(self, *args, offer_override: bool = False, **kwargs) -> None:
        """`offer_override`: the viewer may approve although a verification is missing (review_rules)."""
        super().__init__(*args, **kwargs)
        if offer_override:
            self.fields["override"] = forms.CharField(
                label=_("Approve although a required verification is missing, because (superusers only)"),
                required=False,
                widget=forms.Textarea,
                help_text=_("Leave empty unless you mean it; the reason is recorded on the request's timeline."),
            )


class RejectForm(ReviewForm):
    reason = forms.ModelChoiceField(
        label=_("Reason"), queryset=ReasonTemplate.objects.filter(active=True), required=False
    )
    text = forms.CharField(label=_("In your words (shown to the customer)"), required=False, widget=forms.Textarea)


class AskForm(ReviewForm):
    question = forms.CharField(label=_("Question for the customer"), widget=forms.Textarea, max_length=5000)


class ReverseForm(SingleLineFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why the automatic approval is reversed (shown to the customer)"), widget=forms.Textarea
    )


class WithdrawForm(ReviewForm):
    note = forms.CharField(label=_("Why (e.g. the customer asked by phone)"), widget=forms.Textarea)


def reviewers() -> QuerySet:
    """Staff who may review: superusers and holders of the review permission."""
    codename = "review_unblockrequest"
    perm = Q(user_permissions__codename=codename) | Q(groups__permissions__codename=codename)
    return get_user_model().objects.filter(Q(is_superuser=True) | perm, is_active=True, is_staff=True).distinct()


class AssignForm(SingleLineFormMixin, forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = reviewers()
