from django.urls import path

from abuse import views

urlpatterns = [
    path("", views.revocation, name="abuse_revocation"),
    path("recheck/", views.recheck_now, name="abuse_recheck"),
]
