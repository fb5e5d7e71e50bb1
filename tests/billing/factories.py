from django.db import transaction

from billing.services import document_number_take


def populate(world) -> None:
    with transaction.atomic():
        world.objects["invoice_number"] = document_number_take()
