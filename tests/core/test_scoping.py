"""The scoping mechanism itself: fails closed, filters every kind of query, escape hatch."""

import pytest
from django import forms
from django.db.models import Count, Exists, OuterRef

from billspree.core.models import ApiKey, Membership
from billspree.core.scoping import OrganizationContextMissing, organization_context


def test_scoped_query_without_organization_raises(world_a):
    with pytest.raises(OrganizationContextMissing):
        list(Membership.objects.all())
    with pytest.raises(OrganizationContextMissing):
        Membership.objects.count()
    with pytest.raises(OrganizationContextMissing):
        Membership.objects.filter(role="admin").exists()
    with pytest.raises(OrganizationContextMissing):
        Membership.objects.update(role="viewer")
    with pytest.raises(OrganizationContextMissing):
        Membership.objects.all().delete()


def test_every_query_kind_sees_only_the_current_organization(world_a, world_b):
    with organization_context(world_a.org):
        assert {m.user for m in Membership.objects.all()} == {
            world_a.admin,
            world_a.manager,
            world_a.operator,
            world_a.viewer,
        }
        assert Membership.objects.count() == 4
        assert Membership.objects.aggregate(n=Count("id"))["n"] == 4
        assert not Membership.objects.filter(user=world_b.admin).exists()
        assert Membership.objects.filter(user=world_b.admin).update(role="viewer") == 0
        assert list(Membership.objects.values_list("user__email", flat=True).order_by()[:10])
        has_key = ApiKey.objects.filter(organization=OuterRef("organization"))
        assert Membership.objects.annotate(k=Exists(has_key)).filter(k=True).count() == 4
    with organization_context(world_b.org):
        assert Membership.objects.get(user=world_b.admin).role == "admin"


def test_querysets_declared_at_import_time_are_scoped_when_used(world_a, world_b):
    declared = Membership.objects.select_related("user").all()  # no context yet: must not raise

    class PickMember(forms.Form):
        member = forms.ModelChoiceField(queryset=Membership.objects.all())

    b_member = Membership.objects.unscoped().filter(organization=world_b.org).first()
    with organization_context(world_a.org):
        assert len(list(declared)) == 4
        form = PickMember(data={"member": b_member.pk})
        assert not form.is_valid()
        assert "member" in form.errors


def test_unscoped_is_the_explicit_escape_hatch(world_a, world_b):
    assert Membership.objects.unscoped().count() == 8
    with organization_context(world_a.org):
        assert Membership.objects.all().unscoped().count() == 8


def test_saving_another_organizations_row_is_refused(world_a, world_b):
    b_member = Membership.objects.unscoped().get(user=world_b.viewer)
    with organization_context(world_a.org), pytest.raises(OrganizationContextMissing):
        b_member.role = "admin"
        b_member.save()
    b_member.refresh_from_db()
    assert b_member.role == "viewer"


def test_import_time_subqueries_are_scoped_per_use_not_frozen_by_the_first(world_a, world_b):
    """A class-level queryset with a scoped subquery must not keep the first organization."""
    from billspree.core.models import ApiKey

    declared = Membership.objects.annotate(
        keys=Exists(ApiKey.objects.filter(organization=OuterRef("organization")))
    ).filter(keys=True)
    for world in (world_a, world_b, world_a):
        with organization_context(world.org):
            users = {m.user for m in declared.all()}
            assert users == {world.admin, world.manager, world.operator, world.viewer}


def test_update_and_delete_of_a_declared_queryset_do_not_freeze_its_scope(world_a, world_b):
    declared = Membership.objects.filter(role="operator")
    with organization_context(world_a.org):
        assert declared.update(role="operator") == 1
    with organization_context(world_b.org):
        assert declared.count() == 1
        assert declared.filter(user=world_b.operator).exists()
