"""Login and password-reset pages with the limits of :mod:`billspree.core.ratelimit`.

Django's own views with throttled forms: the login form refuses a locked account or
address before it looks at the password, and the reset view withholds the email past the
limits while answering exactly as when it sends one (so it reveals neither whether the
address has an account nor whether the limit was reached).
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect

from billspree.core import ratelimit


class ThrottledLoginMixin:
    """For an ``AuthenticationForm``: the limiter around ``clean``."""

    locked: ratelimit.Lockout | None = None

    def clean(self):
        email = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password")
        if not email or not password:
            return super().clean()
        address = ratelimit.client_address(self.request)
        self.locked = ratelimit.login_lock_check(email=email, address=address)
        if self.locked is not None:
            raise ValidationError(self.locked.message, code="locked")
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            if any(getattr(e, "code", None) == "invalid_login" for e in exc.error_list):
                self.locked = ratelimit.login_failure_record(email=email, address=address)
                if self.locked is not None:
                    raise ValidationError(self.locked.message, code="locked") from exc
            raise
        ratelimit.login_success_record(email=email)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    """The portal login (managers and tenants alike). A refused, locked login answers 429
    with the page and the message saying how long to wait."""

    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "locked", None) is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.locked.minutes * 60)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form) -> HttpResponse:
        allowed = ratelimit.password_reset_allow(
            email=form.cleaned_data["email"], address=ratelimit.client_address(self.request)
        )
        if allowed:
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password set through the emailed link lifts the account's login lock (the
    lock message points there: "Or reset your password.")."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        ratelimit.login_unlock(email=form.user.email)
        return response
