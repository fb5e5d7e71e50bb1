"""Portal pages of the core: dashboard, organization switcher, settings, members, API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView, TemplateView

from billspree.core import forms, ops, services
from billspree.core.activity import describe_events
from billspree.core.actor import Actor
from billspree.core.dashboard import Card, collect_cards, collect_steps
from billspree.core.errors import Conflict
from billspree.core.files import logo_response
from billspree.core.middleware import SESSION_KEY
from billspree.core.models import ApiKey, AuditEvent, Invitation, Membership, Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text, form_errors
from billspree.core.portal_views import ActionView
from billspree.core.selectors import user_memberships


class DashboardView(OrganizationPortalMixin, TemplateView):
    """Numbers that matter (cards from each app), the getting-started checklist (admins:
    what is really set up) and recent activity in words; a fixed number of queries."""

    template_name = "core/dashboard.html"
    activity_size = 8

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        admin = Role.at_least(self.request.role, Role.ADMIN)
        cards = collect_cards(self.request)
        if admin:
            cards.append(Card(
                label="API keys",
                value=ApiKey.objects.filter(revoked_at__isnull=True)
                .exclude(expires_at__lte=timezone.now())
                .count(),
                foot="Active integrations",
                url=reverse("portal:api_keys"),
            ))
        ctx["cards"] = cards
        if admin:
            steps = collect_steps(self.request)
            ctx["steps"] = steps
            ctx["setup_done"] = all(s.done for s in steps)
        events = list(AuditEvent.objects.select_related("actor", "api_key")[: self.activity_size])
        ctx["activity"] = describe_events(events)
        ctx["audit_log_url"] = reverse("portal:audit_log") if admin else ""
        return ctx


class SectionView(OrganizationPortalMixin, TemplateView):
    """A navigation section whose capability is still being built: an honest empty state."""

    template_name = "core/section_pending.html"
    section = ""
    description = ""

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(section=self.section, description=self.description)
        return ctx


class OrganizationSwitchView(LoginRequiredMixin, View):
    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        membership = user_memberships(request.user).filter(organization__public_id=id).first()
        if membership is None:
            raise Http404("No such organization")
        request.session[SESSION_KEY] = str(membership.organization.public_id)
        messages.success(request, f"Switched to {membership.organization.name}.")
        return redirect("portal:dashboard")


class NoOrganizationView(LoginRequiredMixin, View):
    """A logged-in user without organization can create one (and becomes its admin)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.organization is not None:
            return redirect("portal:dashboard")
        return render(request, "core/no_organization.html")

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            org = services.organization_create(
                name=request.POST.get("name", ""), owner=request.user
            )
        except ValidationError as exc:
            return render(
                request, "core/no_organization.html", {"error": error_text(exc)}, status=400
            )
        request.session[SESSION_KEY] = str(org.public_id)
        messages.success(request, f"Created {org.name}. You are its admin.")
        return redirect("portal:dashboard")


class SettingsView(OrganizationPortalMixin, View):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get(self, request: HttpRequest) -> HttpResponse:
        form = forms.OrganizationSettingsForm(instance=request.organization)
        return render(request, "core/settings.html", {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.OrganizationSettingsForm(
            request.POST, request.FILES, instance=request.organization
        )
        if not form.is_valid():
            return render(request, "core/settings.html", {"form": form}, status=400)
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            services.organization_update(**Actor.of(request).kwargs(), **changed)
        messages.success(request, "Settings saved." if changed else "Nothing changed.")
        return redirect("portal:settings")


class OrganizationLogoView(OrganizationPortalMixin, View):
    """The organization's logo for the portal header (any member's role may see it).

    Logos are private files (``uploads`` storage), so this view, behind the organization
    of the request like every portal view, is the only way to them; another
    organization's id answers 404 like a random one. Works with ``DEBUG=false`` (no
    ``/media/`` route is needed or exists).
    """

    def get(self, request: HttpRequest, organization) -> HttpResponse:
        org = request.organization
        if org.public_id != organization or not org.logo:
            raise Http404("No logo.")
        return logo_response(org)


class MembersView(OrganizationPortalMixin, View):
    write_role = Role.ADMIN

    def _render(self, request: HttpRequest, form=None, status: int = 200) -> HttpResponse:
        ctx = {
            "members": Membership.objects.select_related("user"),
            "invitations": Invitation.objects.filter(
                accepted_at__isnull=True, revoked_at__isnull=True
            ),
            "form": form or forms.InvitationForm(),
            "roles": Role.choices,
        }
        return render(request, "core/members.html", ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.InvitationForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            services.invitation_create(email=form.cleaned_data["email"],
                                       role=form.cleaned_data["role"], **Actor.of(request).kwargs())
        except (ValidationError, Conflict) as exc:
            form.add_error("email", error_text(exc))
            return self._render(request, form, status=400)
        messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
        return redirect("portal:members")


class MemberRoleView(OrganizationPortalMixin, View):
    write_role = Role.ADMIN

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        membership = get_object_or_404(Membership, public_id=id)
        form = forms.MemberRoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a valid role.")
            return redirect("portal:members")
        try:
            services.member_role_set(
                membership=membership, role=form.cleaned_data["role"], **Actor.of(request).kwargs()
            )
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display()}."
            )
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
        return redirect("portal:members")


class MemberRemoveView(ActionView):
    model = Membership
    queryset = Membership.objects.select_related("user")
    write_role = Role.ADMIN

    def act(self, membership: Membership) -> str:
        services.member_remove(membership=membership, **self.actor.kwargs())
        return f"Removed {membership.user.email}."

    def success_url(self, membership: Membership) -> str:
        return reverse("portal:members")


class InvitationRevokeView(ActionView):
    model = Invitation
    write_role = Role.ADMIN

    def act(self, invitation: Invitation) -> str:
        services.invitation_revoke(invitation=invitation, **self.actor.kwargs())
        return f"Invitation of {invitation.email} revoked."

    def success_url(self, invitation: Invitation) -> str:
        return reverse("portal:members")


class ApiKeysView(OrganizationPortalMixin, View):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def _render(self, request, form=None, new_secret=None, status=200):
        ctx = {
            "keys": ApiKey.objects.all(),
            "form": form or forms.ApiKeyForm(),
            "new_secret": new_secret,
        }
        return render(request, "core/api_keys.html", ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.ApiKeyForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            key, secret = services.api_key_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                **Actor.of(request).kwargs(),
                expires_at=form.cleaned_data["expires_on"],
            )
        except ValidationError as exc:
            form_errors(form, exc, names={"expires_at": "expires_on"})
            return self._render(request, form, status=400)
        messages.success(
            request, f"API key “{key.name}” created. Copy it now: it is shown only once."
        )
        return self._render(request, new_secret=secret)


class ApiKeyRevokeView(ActionView):
    model = ApiKey
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def act(self, key: ApiKey) -> str:
        services.api_key_revoke(api_key=key, **self.actor.kwargs())
        return f"API key “{key.name}” revoked. Requests with it now get 401."

    def success_url(self, key: ApiKey) -> str:
        return reverse("portal:api_keys")


class AuditLogView(OrganizationPortalMixin, ListView):
    read_role = Role.ADMIN
    template_name = "core/audit_log.html"
    context_object_name = "events"
    paginate_by = 50

    def get_queryset(self):
        return AuditEvent.objects.select_related("actor", "api_key")


class InvitationAcceptView(View):
    """The link in an invitation email: sign up (new email) or join (logged-in user)."""

    def _context(self, token: str):
        invitation = services.invitation_by_token(token)
        return invitation

    def _wrong_account(self, request: HttpRequest, invitation) -> HttpResponse:
        return render(request, "core/invitation_wrong_account.html",
                      {"invitation": invitation}, status=403)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = self._context(token)
        if invitation is None:
            return render(request, "core/invitation_invalid.html", status=404)
        if request.user.is_authenticated and not services.invitation_is_for(
                invitation, request.user):
            return self._wrong_account(request, invitation)
        exists = get_user_model().objects.filter(email__iexact=invitation.email).exists()
        form = forms.SignupForm(email=invitation.email)
        return render(
            request,
            "core/invitation_accept.html",
            {"invitation": invitation, "form": form, "account_exists": exists},
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = self._context(token)
        if invitation is None:
            return render(request, "core/invitation_invalid.html", status=404)
        user_model = get_user_model()
        if request.user.is_authenticated:
            if not services.invitation_is_for(invitation, request.user):
                services.invitation_refuse_account(invitation=invitation, user=request.user)
                return self._wrong_account(request, invitation)
            user = request.user
        elif user_model.objects.filter(email__iexact=invitation.email).exists():
            return redirect(f"{reverse('login')}?next={request.path}")
        else:
            form = forms.SignupForm(request.POST, email=invitation.email)
            if not form.is_valid():
                return render(
                    request,
                    "core/invitation_accept.html",
                    {"invitation": invitation, "form": form, "account_exists": False},
                    status=400,
                )
            user = user_model.objects.create_user(
                invitation.email,
                form.cleaned_data["password"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        try:
            membership = services.invitation_accept(token=token, user=user)
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            return redirect("portal:dashboard")
        request.session[SESSION_KEY] = str(membership.organization.public_id)
        messages.success(request, f"Welcome to {membership.organization.name}.")
        return redirect("portal:dashboard")


# --- operations -------------------------------------------------------------------------------


class HealthzView(View):
    """For load balancers and ``docker compose``: 200 while this process can serve (the
    database and the broker answer), 503 naming what does not. Anonymous, so it says no
    more than which component is down."""

    def get(self, request: HttpRequest) -> HttpResponse:
        checks = ops.liveness()
        healthy = all(c.ok for c in checks if c.critical)
        body = {
            "status": "ok" if healthy else "unavailable",
            "checks": {c.name.lower(): "ok" if c.ok else "failing" for c in checks},
        }
        return JsonResponse(body, status=200 if healthy else 503)


class OpsStatusView(LoginRequiredMixin, TemplateView):
    """Platform staff's view of the moving parts, across organizations (counts, never an
    organization's data). Members of organizations, even admins, are not platform staff."""

    template_name = "core/ops_status.html"

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_staff:
            raise PermissionDenied("System status is for platform staff.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["checks"] = ops.collect_checks()
        ctx["checked_at"] = timezone.now()
        return ctx
