from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site (two-factor sign-in) as the default site."""

    default_site = "portal.admin_site.PortalAdminSite"
