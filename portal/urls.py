from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import platform_server
from requests_app.api import UnblockRequestViewSet, port25_status_view


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and docker-compose: the process answers."""
    return HttpResponse("ok", content_type="text/plain")


router = DefaultRouter()
router.register("requests", UnblockRequestViewSet, basename="api-request")

api_v1 = [
    path("port25/", port25_status_view, name="api-port25"),
    path("platform/servers/<str:external_id>/", platform_server, name="api-platform-server"),
    *router.urls,
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("requests_app.urls")),
]
