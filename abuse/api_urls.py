from django.urls import path

from abuse import api

urlpatterns = [
    path("reports/", api.submit_report, name="api-abuse-report"),
    path("reports/batch/", api.submit_batch, name="api-abuse-batch"),
    path("arf/", api.submit_arf, name="api-abuse-arf"),
]
