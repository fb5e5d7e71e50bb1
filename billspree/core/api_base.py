"""Base classes every API view builds on; they bind and enforce the organization scope.

Subclasses declare ``queryset = Model.objects.all()`` and never filter by organization:
the scoped manager does it, and ``perform_authentication`` binds an API key's
organization before any query runs. A row of another organization is simply absent,
so it answers 404.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.db import models
from django.utils import timezone
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from billspree.core.actor import Actor
from billspree.core.api_fields import BoundedDateField, BoundedDateTimeField
from billspree.core.models import ApiKey
from billspree.core.scoping import set_current_organization

UUID_REGEX = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class OrganizationContextMixin:
    """Bind the organization of an API key (session members are bound by the middleware)."""

    read_role = "viewer"
    write_role = "manager"

    def dispatch(self, request, *args, **kwargs):
        """The API speaks UTC (ISO 8601, ``Z``) whoever calls it: a member's session runs
        the portal in the organization's zone (``LocalTimeMiddleware``), which DRF's
        ``DateTimeField`` would otherwise render in, so the same row would read
        differently with a key and with a session."""
        with timezone.override(UTC):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)  # type: ignore[misc]
        if isinstance(request.auth, ApiKey):
            key = request.auth
            request._request.organization = key.organization
            request._request.role = key.role
            request._request.api_key = key
            request._request.membership = None
            set_current_organization(key.organization)

    @property
    def organization(self):
        return self.request.organization

    def audit_kwargs(self) -> dict[str, Any]:
        """Who is acting, in the form services' ``actor``/``api_key`` arguments take."""
        return Actor.of(self.request).audit_kwargs()


class OrganizationAPIView(OrganizationContextMixin, APIView):
    pass


class OrganizationViewSet(OrganizationContextMixin, viewsets.GenericViewSet):
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_REGEX


class OrganizationModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationViewSet,
):
    pass


class PublicIdRelatedField(serializers.SlugRelatedField):
    """A writable relation by public id; its queryset is scoped, so other organizations' ids
    are 'not found' (400), never attached."""

    default_error_messages = {
        "does_not_exist": "No {model} with id {value} in this organization.",
        "invalid": "Not a valid id.",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("slug_field", "public_id")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        from django.core.exceptions import ValidationError as DjangoValidationError

        queryset = self.get_queryset()
        try:
            return queryset.get(**{self.slug_field: data})
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", model=queryset.model._meta.verbose_name, value=data)
        except (TypeError, ValueError, DjangoValidationError):
            self.fail("invalid")


class OrganizationModelSerializer(serializers.ModelSerializer):
    """Relations are by public id and scoped; ``id`` is the public id; dates and instants
    are bounded (:mod:`billspree.core.limits`)."""

    serializer_related_field = PublicIdRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: BoundedDateField,
        models.DateTimeField: BoundedDateTimeField,
    }
    id = serializers.UUIDField(source="public_id", read_only=True)
