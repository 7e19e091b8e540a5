from axes.apps import AppConfig as AxesAppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OtpStaticAppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OtpTotpAppConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site (two-factor sign-in) as the default site."""

    default_site = "portal.admin_site.PortalAdminSite"


# Third-party apps under names staff read on the admin's index (their own are "OTP_STATIC", "AXES").
class SignInLockoutsConfig(AxesAppConfig):
    verbose_name = _("Sign-in lockouts")


class RecoveryCodesConfig(OtpStaticAppConfig):
    verbose_name = _("Two-factor recovery codes")


class AuthenticatorAppsConfig(OtpTotpAppConfig):
    verbose_name = _("Two-factor authenticator apps")
