"""The sign-in and password-change forms: both check a password through the sign-in throttle."""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm

from . import services, signin
from .models import TokenScope


class SignInForm(AuthenticationForm):
    """The sign-in form of the app and of the admin. Its password check runs under the per-username
    lock (services.signin_serialized) and says so, generically, when django-axes refuses it."""

    def clean(self):
        username = self.cleaned_data.get("username")
        # The error is raised after the block: raised inside, it would roll back the failure
        # django-axes has just recorded.
        error = None
        with services.signin_serialized(username=username):
            try:
                super().clean()
            except forms.ValidationError as exc:
                error = exc
        if error is not None:
            raise _lockout_error() if _locked_out(self.request) else error
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        services.signin_failures_forgive(username=user.get_username())


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, but the old password is checked through the sign-in throttle: it is a
    password check like the sign-in form's, so guesses there count and are refused alike."""

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        with services.signin_serialized(username=username):
            matches = authenticate(self.request, username=username, password=old_password) is not None
        if matches:
            return old_password
        if _locked_out(self.request):
            raise _lockout_error()
        raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")


def _locked_out(request) -> bool:
    return bool(getattr(request, "axes_locked_out", False))


def _lockout_error() -> forms.ValidationError:
    return forms.ValidationError(signin.lockout_message(), code="throttled")


class ApiTokenForm(forms.Form):
    """Name and scope of a new API token."""

    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “Spreadsheet sync”.")
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect)
