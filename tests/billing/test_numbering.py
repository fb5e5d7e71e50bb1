"""Gapless, per-organization document numbers, also under concurrency."""

import threading

import pytest
from django.db import connection, transaction

from billing.models import DocumentSequence
from billing.services import document_number_take
from billspree.core.scoping import organization_context


def test_numbers_are_sequential_per_organization_and_kind(world_a, world_b):
    with organization_context(world_a.org), transaction.atomic():
        assert [document_number_take() for _ in range(3)] == [
            "INV-000001",
            "INV-000002",
            "INV-000003",
        ]
        assert document_number_take(kind="credit_note") == "CN-000001"
    with organization_context(world_b.org), transaction.atomic():
        assert document_number_take() == "INV-000001"


def test_a_rolled_back_issue_does_not_consume_its_number(world_a):
    with organization_context(world_a.org):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            assert document_number_take() == "INV-000001"
            1 / 0  # noqa: B018 - the issuing transaction fails after taking the number
        with transaction.atomic():
            assert document_number_take() == "INV-000001"


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_is_refused(world_a):
    with organization_context(world_a.org), pytest.raises(RuntimeError, match="transaction"):
        document_number_take()


def test_unknown_kind_is_refused(world_a):
    with organization_context(world_a.org), transaction.atomic(), pytest.raises(ValueError):
        document_number_take(kind="receipt")


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuers_get_distinct_gapless_numbers(world_a):
    taken: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def issue() -> None:
        try:
            barrier.wait()
            with organization_context(world_a.org):
                for _ in range(5):
                    with transaction.atomic():
                        taken.append(document_number_take())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(taken) == [f"INV-{n:06d}" for n in range(1, 31)]
    with organization_context(world_a.org):
        assert DocumentSequence.objects.get(kind="invoice").next_number == 31
