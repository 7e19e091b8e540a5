"""Single-line text: names, addresses, references, subjects. One rule, used by every form, API and admin.

A line break in an account name ends up in a mail's Subject, where Django refuses it (and a
log line or a CSV export gets a forged line). So every single-line field refuses control
characters (C0, DEL, C1, and the Unicode line and paragraph separators) with a message a
person understands; multi-line fields (a Textarea, a DRF field styled as one) take line breaks.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
RUNS_OF_CONTROL_CHARACTERS = re.compile(CONTROL_CHARACTERS.pattern + "+")


def validate_single_line(value: object) -> None:
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            _("Write this on one line: line breaks, tabs and other control characters are not allowed."),
            code="control_characters",
        )


def as_single_line(text: str) -> str:
    """`text` with each run of control characters replaced by one space (for data stored before the rule)."""
    return RUNS_OF_CONTROL_CHARACTERS.sub(" ", text).strip()


def _is_single_line_form_field(field: forms.Field) -> bool:
    return isinstance(field, forms.CharField) and not isinstance(field.widget, forms.Textarea)


class SingleLineFormMixin:
    """Every CharField of the form that is not a Textarea refuses control characters."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if _is_single_line_form_field(field):
                field.validators.append(validate_single_line)


class SingleLineModelForm(SingleLineFormMixin, forms.ModelForm):
    """The admin's form for models with names and references (ModelAdmin.form)."""


class SingleLineSerializerMixin:
    """Every CharField of the serializer not styled as a text area refuses control characters."""

    def get_fields(self) -> dict:
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.CharField) and field.style.get("base_template") != "textarea.html":
                field.validators.append(validate_single_line)
        return fields
