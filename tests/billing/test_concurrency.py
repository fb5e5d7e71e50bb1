"""Two simultaneous billings of the same subscription and period create one invoice."""

import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from billing import services
from billing.models import BilledPeriod, Invoice
from billspree.core.errors import Conflict
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_billings_create_one_invoice(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def bill() -> None:
        try:
            with organization_context(world_a.org):
                barrier.wait()
                services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
                outcomes.append("created")
        except (Conflict, ValidationError):
            outcomes.append("refused")
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=bill) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["created", "refused", "refused", "refused"], outcomes
    with organization_context(world_a.org):
        assert Invoice.objects.count() == 1
        assert BilledPeriod.objects.count() == 1
