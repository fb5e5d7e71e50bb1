"""Billing batches: create / update / delete with clear field errors, the beat schedule kept
in step (crontab, months, the organization's time zone, enabled switch), subscriptions
moved in and out set-based (one by one or a whole property)."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from billing import services
from billing.models import BillingBatch, BillRun, Subscription
from billspree.core.errors import Conflict
from billspree.core.models import AuditEvent
from billspree.core.scoping import organization_context
from tests.billing.builders import make_house

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(world_a):
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save()
    with organization_context(world_a.org):
        yield world_a


def _task(batch) -> PeriodicTask:
    return PeriodicTask.objects.get(name=f"bill-batch-{batch.public_id}")


def test_create_makes_a_disabled_crontab_in_the_org_time_zone(org):
    batch = services.batch_create(name="Monthly — Riverside", billing_day=3,
                                  schedule_time=time(6, 30), actor=org.manager)
    task = _task(batch)
    assert batch.periodic_task_id == task.pk
    assert BillingBatch.objects.get(pk=batch.pk).periodic_task_id == task.pk
    assert task.task == "billing.tasks.runs.bill_run_scheduled"
    assert json.loads(task.args) == [batch.pk]
    assert task.enabled is False
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "30", "6", "3", "*", "*")
    assert str(cron.timezone) == "Europe/Berlin"
    assert AuditEvent.objects.filter(action="batch.create", target=batch.name).exists()


def test_update_follows_the_schedule(org):
    batch = services.batch_create(name="Q", cycle="quarterly", anchor_month=2)
    assert _task(batch).crontab.month_of_year == "2,5,8,11"
    services.batch_update(batch=batch, schedule_enabled=True, billing_day=28,
                          schedule_time="22:15", cycle="yearly", anchor_month=7)
    task = _task(batch)
    assert task.enabled is True
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_month,
            task.crontab.month_of_year) == ("22", "15", "28", "7")
    assert PeriodicTask.objects.filter(name__startswith="bill-batch-").count() == 1
    services.batch_update(batch=batch, schedule_enabled=False)
    assert _task(batch).enabled is False


def test_schedule_resync_after_the_org_changes_time_zone(org):
    batch = services.batch_create(name="M", schedule_enabled=True)
    org.org.time_zone = "America/New_York"
    org.org.save()
    services.batch_schedule_sync(batch=batch)
    assert str(_task(batch).crontab.timezone) == "America/New_York"


def test_changing_the_org_time_zone_in_settings_moves_every_batch(org):
    """Through core's organization_update (which cannot import billing): its signal."""
    from billspree.core.scoping import require_organization
    from billspree.core.services import organization_update

    batches = [services.batch_create(name=n, schedule_enabled=True) for n in ("M1", "M2")]
    assert {str(_task(b).crontab.timezone) for b in batches} == {"Europe/Berlin"}
    assert require_organization() is not None
    organization_update(actor=org.admin, time_zone="Asia/Tokyo")
    assert {str(_task(b).crontab.timezone) for b in batches} == {"Asia/Tokyo"}
    assert {(_task(b).crontab.hour, _task(b).crontab.minute) for b in batches} == {("6", "0")}
    organization_update(actor=org.admin, name="Renamed")  # no time zone change: untouched
    assert {str(_task(b).crontab.timezone) for b in batches} == {"Asia/Tokyo"}


@pytest.mark.parametrize("fields, field", [
    ({"name": ""}, "name"),
    ({"name": "  "}, "name"),
    ({"name": "X", "billing_day": 29}, "billing_day"),
    ({"name": "X", "billing_day": 0}, "billing_day"),
    ({"name": "X", "billing_day": "soon"}, "billing_day"),
    ({"name": "X", "anchor_month": 13}, "anchor_month"),
    ({"name": "X", "cycle": "weekly"}, "cycle"),
    ({"name": "X", "schedule_time": "25:99"}, "schedule_time"),
    ({"name": "X", "periodic_task": None}, "periodic_task"),
])
def test_bad_input_is_refused_with_a_field_error_and_nothing_stored(org, fields, field):
    with pytest.raises(ValidationError) as exc:
        services.batch_create(**fields)
    assert field in exc.value.message_dict
    assert not BillingBatch.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="bill-batch-").exists()


def test_names_are_unique_per_organization_case_insensitively(org, world_b):
    services.batch_create(name="Monthly")
    with pytest.raises(ValidationError) as exc:
        services.batch_create(name="monthly")
    assert "exists already" in exc.value.message_dict["name"][0]
    with organization_context(world_b.org):
        services.batch_create(name="Monthly")  # another organization may use it


def test_bad_update_changes_nothing(org):
    batch = services.batch_create(name="M", billing_day=5)
    with pytest.raises(ValidationError):
        services.batch_update(batch=batch, billing_day=31)
    batch.refresh_from_db()
    assert batch.billing_day == 5
    assert _task(batch).crontab.day_of_month == "5"


def test_subscriptions_in_and_out_set_based(org):
    h1, h2 = make_house(), make_house()
    batch = services.batch_create(name="M")
    other = services.batch_create(name="Other")
    assert services.batch_subscriptions_set(batch=batch, add=[h1.subscription]) == 1
    assert services.batch_subscriptions_set(batch=batch, add=[h1.subscription]) == 0
    services.batch_subscriptions_set(batch=other, add=[h2.subscription])
    # picking moves a subscription from another batch; by property leaves it there
    assert services.batch_subscriptions_set(batch=batch, property=h2.prop) == 0
    assert services.batch_subscriptions_set(batch=batch, add=[h2.subscription]) == 1
    assert set(Subscription.objects.filter(batch=batch)) == {h1.subscription, h2.subscription}
    assert services.batch_subscriptions_set(batch=batch, remove=[h1.subscription]) == 1
    assert services.batch_subscriptions_set(batch=other, remove=[h2.subscription]) == 0
    assert list(Subscription.objects.filter(batch=batch)) == [h2.subscription]
    assert AuditEvent.objects.filter(action="batch.subscriptions").count() == 4


def test_a_property_is_added_at_once_without_ended_subscriptions(org):
    from meters import services as meter_services
    from tariffs import services as tariff_services

    h = make_house()
    ended_bp = meter_services.billing_point_create(property=h.prop, connection_id="OLD",
                                                   name="Old shop")
    plan = tariff_services.plan_save(name="Old plan", rate_lists=[h.rate_list])
    ended = services.subscription_create(billing_point=ended_bp, plan=plan,
                                         start_date=date(2020, 1, 1), end_date=date(2021, 1, 1))
    batch = services.batch_create(name="House")
    assert services.batch_subscriptions_set(batch=batch, property=h.prop) == 1
    assert list(Subscription.objects.filter(batch=batch)) == [h.subscription]
    assert Subscription.objects.get(pk=ended.pk).batch is None


def test_delete_detaches_subscriptions_and_removes_the_schedule(org):
    h = make_house()
    batch = services.batch_create(name="M", schedule_enabled=True)
    services.batch_subscriptions_set(batch=batch, add=[h.subscription])
    assert services.batch_delete(batch=batch, actor=org.manager) == 1
    assert not BillingBatch.objects.exists()
    assert not PeriodicTask.objects.filter(name__startswith="bill-batch-").exists()
    h.subscription.refresh_from_db()
    assert h.subscription.batch is None
    assert AuditEvent.objects.filter(action="batch.delete").exists()


def test_a_batch_with_runs_cannot_be_deleted(org):
    batch = services.batch_create(name="M", schedule_enabled=True)
    BillRun.objects.create(batch=batch, period_start=date(2026, 9, 1),
                           period_end=date(2026, 10, 1))
    with pytest.raises(Conflict) as exc:
        services.batch_delete(batch=batch)
    assert "has bill runs" in exc.value.message
    assert BillingBatch.objects.filter(pk=batch.pk).exists()
    assert _task(batch).enabled is True


def test_subscription_form_fields_carry_the_batch(org):
    h = make_house()
    batch = services.batch_create(name="M")
    services.subscription_update(subscription=h.subscription, batch=batch)
    assert Subscription.objects.get(pk=h.subscription.pk).batch == batch
