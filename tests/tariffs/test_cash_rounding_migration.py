"""Migration tariffs 0002: each organization's rate lists' cash rounding per currency becomes
the organization's setting — the step they agree on, or the largest if they differ."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tariffs", "0001_initial")]
AFTER = [("tariffs", "0002_cash_rounding_per_organization_currency")]


@pytest.mark.django_db(transaction=True)
def test_rate_lists_steps_move_to_the_organization_setting(world_a, world_b):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        RateList = old.get_model("tariffs", "RateList")
        rows = [  # (organization, name, currency, step)
            (world_a.org.pk, "A power", "CHF", D("0.05")),
            (world_a.org.pk, "A water", "CHF", D("0.05")),
            (world_a.org.pk, "A heat", "CHF", None),
            (world_a.org.pk, "A euro", "EUR", None),
            (world_b.org.pk, "B one", "CHF", D("0.05")),
            (world_b.org.pk, "B two", "CHF", D("0.10")),
        ]
        for org, name, currency, step in rows:
            RateList._base_manager.create(organization_id=org, name=name, currency=currency,
                                          cash_rounding=step)
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:  # every app back to its latest (going back unapplied the apps above tariffs)
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes())
    new = MigrationExecutor(connection).loader.project_state(AFTER).apps
    CashRounding = new.get_model("tariffs", "CashRounding")
    got = sorted(CashRounding._base_manager.values_list("organization_id", "currency", "step"))
    # A agrees on 0.05 (a list without cash rounding does not count); no EUR setting;
    # B's lists differ: the largest step, 0.10
    assert got == sorted([(world_a.org.pk, "CHF", D("0.05")), (world_b.org.pk, "CHF",
                                                                 D("0.10"))])
