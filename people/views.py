"""Sign-in (with its throttle) and sign-out."""

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.views.decorators.http import require_http_methods

from . import services


def _client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses sign-in while a username or an address is cooling off after repeated failures."""

    def clean(self):
        username = (self.data.get("username") or "").strip()
        address = _client_address(self.request) if self.request else None
        if services.login_is_throttled(username=username, ip_address=address):
            minutes = max(1, settings.LOGIN_COOLOFF_SECONDS // 60)
            raise forms.ValidationError(
                f"Too many failed sign-ins. Wait {minutes} minutes and try again.", code="throttled"
            )
        try:
            return super().clean()
        except forms.ValidationError:
            services.login_failure_record(username=username, ip_address=address)
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        services.login_failures_clear(username=user.get_username(), ip_address=_client_address(self.request))


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request):
    return auth_views.LoginView.as_view(
        template_name="people/login.html",
        authentication_form=ThrottledAuthenticationForm,
        redirect_authenticated_user=True,
    )(request)


@require_http_methods(["POST"])
def logout_view(request):
    return auth_views.LogoutView.as_view()(request)
