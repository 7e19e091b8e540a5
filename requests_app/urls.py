from django.urls import path

from requests_app import views

urlpatterns = [
    path("", views.port25, name="port25"),
    path("port25/traffic/", views.port25_traffic, name="port25_traffic"),
    path("acceptable-use/", views.acceptable_use, name="acceptable_use"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("requests/<int:pk>/checks/", views.request_checks, name="request_checks"),
    path("requests/<int:pk>/checks/rerun/", views.request_rerun_checks, name="request_rerun_checks"),
    path("requests/<int:pk>/answer/", views.request_answer, name="request_answer"),
]
