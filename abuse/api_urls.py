from django.urls import path

from abuse import api

urlpatterns = [
    path("reports/", api.ReportView.as_view(), name="api-abuse-report"),
    path("reports/batch/", api.BatchView.as_view(), name="api-abuse-batch"),
    path("xarf/", api.XarfView.as_view(), name="api-abuse-xarf"),
    path("arf/", api.MailView.as_view(), name="api-abuse-arf"),
]
