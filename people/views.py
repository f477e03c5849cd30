"""Sign-in (throttled by django-axes), sign-out, and your account: profile, password change
and reset."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .errors import PeopleError
from .forms import ApiTokenForm, PasswordChangeForm, SignInForm
from .models import ApiToken


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request):
    return auth_views.LoginView.as_view(
        template_name="people/login.html",
        authentication_form=SignInForm,
        redirect_authenticated_user=True,
    )(request)


@require_http_methods(["POST"])
def logout_view(request):
    return auth_views.LogoutView.as_view()(request)


# --- your account: profile, password change and reset -----------------------------------------------


@require_http_methods(["GET"])
def profile(request):
    """The signed-in user's own facts: name, email, team, role; where to change the password;
    their API tokens. A token's secret is shown once, on the page the creation redirects to."""
    user = request.user
    managed = user.managed_teams.order_by("name") if user.is_manager else []
    return render(
        request,
        "people/profile.html",
        {
            "person": user,
            "managed_teams": managed,
            "tokens": ApiToken.objects.filter(user=user),
            "token_form": ApiTokenForm(),
            "new_secret": request.session.pop(NEW_SECRET_KEY, None),
        },
    )


NEW_SECRET_KEY = "api_token_secret"


@require_POST
def api_token_create(request):
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = services.api_token_create(actor=request.user, now=timezone.now(), **form.cleaned_data)
        except PeopleError as exc:
            form.add_error(exc.field, exc.message)
        else:
            request.session[NEW_SECRET_KEY] = secret
            messages.success(request, f"Token “{token.name}” created. Copy it now: it will not be shown again.")
            return redirect("profile")
    user = request.user
    context = {
        "person": user,
        "managed_teams": user.managed_teams.order_by("name") if user.is_manager else [],
        "tokens": ApiToken.objects.filter(user=user),
        "token_form": form,
    }
    return render(request, "people/profile.html", context, status=400)


@require_POST
def api_token_revoke(request, pk: int):
    try:
        services.api_token_revoke(actor=request.user, token_id=pk, now=timezone.now())
    except PeopleError as exc:
        raise Http404(exc.message) from None
    messages.success(request, "Token revoked; it no longer works.")
    return redirect("profile")


@require_http_methods(["GET", "POST"])
def password_change(request):
    """Django's password change, with the old password checked through the sign-in throttle.
    The session survives the change; the user's other sessions end."""
    form = PasswordChangeForm(request.user, request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "Your password has been changed.")
        return redirect("profile")
    return render(request, "people/password_change.html", {"form": form}, status=400 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def password_reset(request):
    """Ask for a reset link by email. The answer is the same whether or not the address belongs
    to anyone, so the page cannot be used to find out who has an account."""
    return auth_views.PasswordResetView.as_view(
        template_name="people/password_reset.html",
        email_template_name="people/email/password_reset.txt",
        subject_template_name="people/email/password_reset_subject.txt",
        extra_email_context={"site_url": settings.SITE_URL},
        success_url=reverse_lazy("password_reset_done"),
    )(request)


@login_not_required
@require_http_methods(["GET"])
def password_reset_done(request):
    return auth_views.PasswordResetDoneView.as_view(template_name="people/password_reset_done.html")(request)


class _PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever reads the account's email may choose its password; the failed sign-ins that
        # locked it out (perhaps why the reset was asked for) no longer matter.
        services.signin_failures_forgive(username=form.user.get_username())
        return response


@login_not_required
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request, uidb64, token):
    return _PasswordResetConfirmView.as_view(
        template_name="people/password_reset_confirm.html",
        success_url=reverse_lazy("password_reset_complete"),
    )(request, uidb64=uidb64, token=token)


@login_not_required
@require_http_methods(["GET"])
def password_reset_complete(request):
    return auth_views.PasswordResetCompleteView.as_view(template_name="people/password_reset_complete.html")(request)
