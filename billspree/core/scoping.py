"""The one organization-scoping mechanism.

Every domain model inherits :class:`OrganizationScopedModel`. Its default manager returns
querysets that add ``organization = <current organization>`` the moment they are turned
into SQL, reading the organization from a context variable that the request (middleware,
API base view), a Celery task or a test sets. With no organization in context the query
raises :class:`OrganizationContextMissing` instead of returning everyone's rows: scoping
fails closed. The explicit escape hatch is ``Model.objects.unscoped()``.

The filter is applied lazily (when the SQL is compiled, not when the queryset object is
created) so that class-level querysets such as ModelForm choice fields or DRF related
fields can be declared at import time and still be scoped per request.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q, sql

if TYPE_CHECKING:
    from billspree.core.models import Organization

_current: contextvars.ContextVar[Organization | None] = contextvars.ContextVar(
    "billspree_organization", default=None
)


class OrganizationContextMissing(RuntimeError):
    """A scoped query ran with no organization in context."""


def current_organization() -> Organization | None:
    return _current.get()


def require_organization() -> Organization:
    org = _current.get()
    if org is None:
        raise OrganizationContextMissing(
            "No organization in context: wrap the code in organization_context(org) "
            "or use .unscoped() deliberately."
        )
    return org


def set_current_organization(org: Organization | None) -> contextvars.Token:
    return _current.set(org)


def reset_current_organization(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def organization_context(org: Organization | None) -> Iterator[Organization | None]:
    token = _current.set(org)
    try:
        yield org
    finally:
        _current.reset(token)


class ScopedQuery(sql.Query):
    """A SQL query that adds ``organization = <current>`` when it is compiled.

    Compilation is the one door every query passes (fetch, count, exists, aggregate,
    subquery), so this catches them all; a query converted to another class (UPDATE,
    DELETE) is scoped during the conversion. The filter goes on a *copy*, never on the
    query itself: subqueries are shared between clones of a queryset, and a queryset
    declared at import time must be scoped anew at every use.
    """

    scope_pending = False

    def scoped_copy(self, klass=None) -> sql.Query:
        copy = super().chain(klass)
        copy.scope_pending = False
        copy.add_q(Q(organization=require_organization()))
        return copy

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        if self.scope_pending:
            return self.scoped_copy().get_compiler(using, connection, elide_empty)
        return super().get_compiler(using, connection, elide_empty)

    def chain(self, klass=None):
        if self.scope_pending and klass is not None and klass is not self.__class__:
            return self.scoped_copy(klass)
        return super().chain(klass)


class OrganizationQuerySet(models.QuerySet):
    def unscoped(self) -> OrganizationQuerySet:
        """All organizations' rows. Use only where crossing organizations is the point."""
        clone = self._chain()
        if isinstance(clone.query, ScopedQuery):
            clone.query.scope_pending = False
        return clone

    def _resolved(self) -> OrganizationQuerySet:
        """A copy with the scope applied, for writes that bypass compilation by class."""
        if isinstance(self.query, ScopedQuery) and self.query.scope_pending:
            clone = self._chain()
            clone.query = clone.query.scoped_copy()
            return clone
        return self

    def delete(self):
        return super(OrganizationQuerySet, self._resolved()).delete()

    delete.alters_data = True
    delete.queryset_only = True

    def _raw_delete(self, using):
        return super(OrganizationQuerySet, self._resolved())._raw_delete(using)

    _raw_delete.alters_data = True

    def update(self, **kwargs):
        return super(OrganizationQuerySet, self._resolved()).update(**kwargs)

    update.alters_data = True

    def _update(self, values):
        return super(OrganizationQuerySet, self._resolved())._update(values)

    _update.alters_data = True
    _update.queryset_only = False


class OrganizationManager(models.Manager.from_queryset(OrganizationQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> OrganizationQuerySet:
        query = ScopedQuery(self.model)
        query.scope_pending = True
        return self._queryset_class(
            model=self.model, query=query, using=self._db, hints=self._hints
        )

    def unscoped(self) -> OrganizationQuerySet:
        return super().get_queryset()


class OrganizationOwnedModel(models.Model):
    """Belongs to one organization, with the scoped manager and the save rule.

    Use it directly for rows addressed by a natural key rather than a public id (e.g.
    readings, keyed by meter and instant in a partitioned table, where a UUID per row would
    cost space and could not be globally unique); everything else inherits
    :class:`OrganizationScopedModel`.
    """

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", editable=False
    )

    objects = OrganizationManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        org = current_organization()
        if self.organization_id is None and org is not None:
            self.organization = org
        elif org is not None and self.organization_id != org.pk:
            raise OrganizationContextMissing(
                f"Refusing to save a {type(self).__name__} of another organization"
            )
        super().save(*args, **kwargs)


class OrganizationScopedModel(OrganizationOwnedModel):
    """Base of every domain model: belongs to one organization, has an opaque public id."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True
