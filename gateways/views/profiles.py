"""Meter profiles: list, detail, create/edit custom ones, copy (built-ins are read-only), delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text, form_errors
from billspree.core.portal_views import ActionView
from gateways import forms, services
from gateways.models import ADDRESS_HELP, Profile


class ProfileListView(OrganizationPortalMixin, ListView):
    model = Profile
    template_name = "gateways/profiles.html"
    context_object_name = "profiles"
    paginate_by = 50

    def get_queryset(self):
        services.profile_builtins_ensure()
        qs = (
            Profile.objects.prefetch_related("values")
            .annotate(used=Count("register_maps"))
            .order_by("-builtin", "name")
        )
        if q := self.request.GET.get("q", "").strip():
            qs = qs.filter(Q(name__icontains=q) | Q(manufacturer__icontains=q))
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            q=self.request.GET.get("q", ""),
            nav_section="gateways",
            can_configure=Role.at_least(self.request.role, Role.MANAGER),
        )
        return ctx


class ProfileDetailView(OrganizationPortalMixin, View):
    model = Profile

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id)
        return render(
            request,
            "gateways/profile_detail.html",
            {
                "profile": profile,
                "values": profile.values.all(),
                "nav_section": "gateways",
                "copy_form": forms.CopyProfileForm(initial={"name": f"{profile.name} (copy)"}),
                "can_configure": Role.at_least(request.role, Role.MANAGER),
            },
        )


class ProfileFormView(OrganizationPortalMixin, View):
    """Create (no id) or edit (id) a custom profile with its values."""

    model = Profile

    def _render(self, request, form, formset, profile=None, status=200):
        ctx = {
            "form": form,
            "formset": formset,
            "profile": profile,
            "address_help": ADDRESS_HELP,
            "nav_section": "gateways",
        }
        return render(request, "gateways/profile_form.html", ctx, status=status)

    def get(self, request: HttpRequest, id: str | None = None) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id) if id else None
        if profile is not None and profile.is_builtin:
            messages.info(request, "Built-in profiles are read-only; copy it to change it.")
            return redirect("gateways:profile_detail", id=profile.public_id)
        initial = (
            [
                {f: getattr(v, f) for f in forms.ProfileValueForm.Meta.fields}
                for v in profile.values.all()
            ]
            if profile
            else []
        )
        return self._render(
            request,
            forms.ProfileForm(instance=profile),
            forms.ProfileValueFormSet(initial=initial, prefix="values"),
            profile,
        )

    def post(self, request: HttpRequest, id: str | None = None) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id) if id else None
        form = forms.ProfileForm(request.POST, instance=Profile())
        formset = forms.ProfileValueFormSet(request.POST, prefix="values")
        if form.is_valid() and formset.is_valid():
            values = [
                {k: v for k, v in f.cleaned_data.items() if k != "DELETE"}
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            try:
                if profile is None:
                    profile = services.profile_create(
                        values=values, **Actor.of(request).kwargs(), **form.cleaned_data
                    )
                else:
                    services.profile_update(
                        profile=profile, values=values, **Actor.of(request).kwargs(),
                        **form.cleaned_data
                    )
                messages.success(request, f"Profile {profile.name} saved.")
                return redirect("gateways:profile_detail", id=profile.public_id)
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc)
        return self._render(request, form, formset, profile, status=400)


class ProfileCopyView(OrganizationPortalMixin, View):
    model = Profile

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id)
        form = forms.CopyProfileForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the copy a name.")
            return redirect("gateways:profile_detail", id=profile.public_id)
        try:
            copy = services.profile_copy(
                profile=profile, name=form.cleaned_data["name"], **Actor.of(request).kwargs()
            )
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
            return redirect("gateways:profile_detail", id=profile.public_id)
        messages.success(request, f"Copied into {copy.name}; edit it to match your meter.")
        return redirect("gateways:profile_edit", id=copy.public_id)


class ProfileDeleteView(ActionView):
    model = Profile

    def act(self, profile: Profile) -> str:
        services.profile_delete(profile=profile, **self.actor.kwargs())
        return f"Profile {profile.name} deleted."

    def success_url(self, profile: Profile) -> str:
        return reverse("gateways:profiles")

    def failure_url(self, profile: Profile) -> str:
        return reverse("gateways:profile_detail", kwargs={"id": profile.public_id})
