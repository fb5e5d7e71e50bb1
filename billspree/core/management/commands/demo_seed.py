"""Load the demo organizations and logins (idempotent: running it twice changes nothing)."""

import importlib

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from billspree.core.models import Membership, Organization, Role, User
from billspree.core.scoping import organization_context
from billspree.core.services import organization_create, organization_update

DEMO_PASSWORD = "billspree-demo"  # noqa: S105 - a documented demo login, not a secret
DEMO_USERS = [
    ("manager@demo.billspree.test", "Maria", "Keller"),
    ("viewer@demo.billspree.test", "Viktor", "Brandt"),
]
DEMO_ORGS = [
    ("Riverside Property Management", "EUR", "Europe/Berlin"),
    ("Harbor Utilities", "CHF", "Europe/Zurich"),
]
#: Statement branding of each demo organization. The IBANs are the banks' published
#: example accounts (valid check digits, so the statements carry a working payment slip:
#: Harbor's is a QR-IBAN, so its QR-bills use QR references); the BICs name no bank.
DEMO_BRANDING = {
    "Riverside Property Management": {
        "address": "Am Flussufer 31\n10179 Berlin\nGermany",
        "payment_details": (
            "Riverside Demo Bank (fictional)\n"
            "IBAN: DE89 3704 0044 0532 0130 00\n"
            "BIC: DEMODEBBXXX"
        ),
        "iban": "DE89370400440532013000", "vat_number": "DE123456789",
        "street": "Am Flussufer", "building_number": "31", "postal_code": "10179",
        "town": "Berlin", "country": "DE",
        "payment_terms_days": 14,
        "brand_color": "#0f766e",
    },
    "Harbor Utilities": {
        "address": "Seestrasse 140\n8002 Zürich\nSwitzerland",
        "payment_details": (
            "Harbor Demo Kantonalbank (fictional)\n"
            "QR-IBAN: CH44 3199 9123 0008 8901 2\n"
            "BIC: DEMOCHZZXXX"
        ),
        "iban": "CH4431999123000889012", "vat_number": "CHE-123.456.789 MWST",
        "street": "Seestrasse", "building_number": "140", "postal_code": "8002",
        "town": "Zürich", "country": "CH",
        "payment_terms_days": 30,
        "brand_color": "#1d4ed8",
    },
}


class Command(BaseCommand):
    help = "Create the demo organizations and users (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = {}
        for email, first, last in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email, DEMO_PASSWORD, first_name=first, last_name=last
                )
            users[email] = user
        manager = users["manager@demo.billspree.test"]
        viewer = users["viewer@demo.billspree.test"]
        if not manager.is_staff:  # so the demo also shows the platform's System status
            manager.is_staff = True
            manager.save(update_fields=["is_staff"])
        for name, currency, tz in DEMO_ORGS:
            org = Organization.objects.filter(name=name).first()
            if org is None:
                org = organization_create(
                    name=name, owner=manager, default_currency=currency, time_zone=tz
                )
            with organization_context(org):
                Membership.objects.get_or_create(
                    organization=org, user=viewer, defaults={"role": Role.VIEWER}
                )
                self.brand_organization(org, actor=manager)
            self.seed_organization(org)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def brand_organization(self, org: Organization, *, actor: User) -> None:
        """Address and payment details for the statements, set once: an organization
        that already has either (e.g. edited in Settings) is left as it is."""
        branding = DEMO_BRANDING.get(org.name)
        if branding and not (org.address or org.payment_details):
            organization_update(actor=actor, **branding)
        elif branding and not org.iban and "DEMO" in org.payment_details:
            # a demo from before payment slips: give it the bank details the slips need
            organization_update(actor=actor, **{k: v for k, v in branding.items()
                                                if k != "brand_color"})

    def seed_organization(self, org: Organization) -> None:
        """Each app may have a ``demo.py`` with ``seed(org)``; they run in INSTALLED_APPS order.

        Discovery (not imports) keeps the core free of upward dependencies on the apps.
        """
        for app in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{app.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app.name}.demo":
                    raise
                continue
            with organization_context(org):
                module.seed(org)
