"""A page of staff's own form inside the admin's frame: header, breadcrumbs, the model's section."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


def form_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    form: forms.Form,
    title: str,
    *,
    template: str = "admin/form_page.html",
    status: int = 200,
    **context: object,
) -> TemplateResponse:
    """`form` under `title` in the admin frame of `model_admin`'s model; `context` adds to what the template
    reads (admin/form_page.html reads `submit`, the button's label, and `intro`, a paragraph above the form)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "form": form,
        **context,
    }
    return TemplateResponse(request, template, context, status=status)
