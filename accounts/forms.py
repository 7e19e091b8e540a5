from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from common.single_line import SingleLineFormMixin


class SignupForm(SingleLineFormMixin, forms.Form):
    account_name = forms.CharField(
        label=_("Company or account name"), max_length=200, help_text=_("Shown to our reviewers.")
    )
    email = forms.EmailField(label=_("Email address"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean_email(self) -> str:
        # Whether the address has an account is not said here: accounts.sign_up mails its owner instead.
        return self.cleaned_data["email"].lower()

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, User(email=self.cleaned_data.get("email", "")))
        return password


class ApiTokenForm(SingleLineFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Token name"), max_length=100, help_text=_("Where you will use it, e.g. “deploy script”.")
    )
