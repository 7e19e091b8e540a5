from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views.defaults import bad_request, page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import platform_server, platform_verification
from operations.metrics_endpoint import metrics
from operations.readiness import readyz
from operations.review_dashboard import review_dashboard_view
from requests_app.api import UnblockRequestViewSet, port25_status_view


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get their 404 as JSON, like every other API error; people get the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)


handler404 = not_found


def refused(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad Host):
    API clients get JSON with the reason, like every other API error; people get the page."""
    if not request.path.startswith("/api/"):
        return bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse({"detail": _("The request body is over %(n)d bytes.") % {"n": limit}}, status=400)
    return JsonResponse({"detail": _("Bad request.")}, status=400)


handler400 = refused


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and docker-compose: the process answers."""
    return HttpResponse("ok", content_type="text/plain")


# Swagger UI sets inline styles (never scripts): this page alone allows them.
api_docs = csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))

router = DefaultRouter()
router.register("requests", UnblockRequestViewSet, basename="api-request")

api_v1 = [
    path("port25/", port25_status_view, name="api-port25"),
    path("platform/servers/<str:external_id>/", platform_server, name="api-platform-server"),
    path(
        "platform/accounts/<uuid:reference>/verifications/<str:kind>/",
        platform_verification,
        name="api-platform-verification",
    ),
    path("abuse/", include("abuse.api_urls")),
    *router.urls,
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    # Beside the review queue's pages; served by operations, which may read every app (see there).
    path(
        "admin/requests_app/unblockrequest/dashboard/",
        admin.site.admin_view(review_dashboard_view),
        name="review_dashboard",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include(api_v1)),
    path("abuse/", include("abuse.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("", include("requests_app.urls")),
]
