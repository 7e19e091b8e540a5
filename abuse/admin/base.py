"""What the abuse admin pages share."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def form_page(
    model_admin: admin.ModelAdmin, request: HttpRequest, form, title: str, submit: str, intro: str = ""
) -> HttpResponse:
    """One of the abuse desk's own forms, inside the admin's frame."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "form": form,
        "submit": submit,
        "intro": intro,
    }
    return render(request, "admin/form_page.html", context)
