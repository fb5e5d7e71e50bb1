"""Structured postal addresses (street, building number, postal code, town, country).

Why structured fields next to the free-text ``address``: Swiss QR-bills accept only
structured ("S") addresses since November 2025, and a payment slip must never be built
from a combined address (qrbill 1.2 would accept one silently). :func:`address_problems`
says in words what is missing, so a statement can leave its payment part out and say why.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.validators import RegexValidator
from django.db import models

from billspree.core.validators import validate_one_line

validate_country = RegexValidator(r"^[A-Za-z]{2}$",
                                  "A two-letter ISO country code such as CH or DE.")

POSTAL_FIELDS = ("street", "building_number", "postal_code", "town", "country")


class PostalAddressFields(models.Model):
    """The structured address of an organization or a tenant (all optional)."""

    street = models.CharField(max_length=70, blank=True, validators=[validate_one_line])
    building_number = models.CharField(max_length=16, blank=True,
                                       validators=[validate_one_line])
    postal_code = models.CharField(max_length=16, blank=True, validators=[validate_one_line])
    town = models.CharField(max_length=35, blank=True, validators=[validate_one_line])
    country = models.CharField(max_length=2, blank=True, validators=[validate_country],
                               help_text="Two-letter ISO code, e.g. CH or DE.")

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        self.country = (self.country or "").strip().upper()

    def postal_address(self, name: str) -> PostalAddress:
        return PostalAddress(name=name, street=self.street, building_number=self.building_number,
                             postal_code=self.postal_code, town=self.town, country=self.country)


@dataclass(frozen=True)
class PostalAddress:
    name: str
    street: str = ""
    building_number: str = ""
    postal_code: str = ""
    town: str = ""
    country: str = ""

    @property
    def is_blank(self) -> bool:
        return not any((self.street, self.building_number, self.postal_code, self.town,
                        self.country))

    @property
    def lines(self) -> list[str]:
        """As printed: "Street 12", "8001 Zürich", "CH"."""
        first = " ".join(x for x in (self.street, self.building_number) if x)
        second = " ".join(x for x in (self.postal_code, self.town) if x)
        return [x for x in (first, second, self.country) if x]


def address_problems(address: PostalAddress) -> list[str]:
    """What keeps ``address`` from being a structured ("S") QR-bill address, in words;
    empty when it is one. SIX: name, postal code, town and country are mandatory, street
    and building number optional; a street with a comma or a postal code in it is a
    combined address typed into the street field."""
    problems = []
    if not (1 <= len(address.name.strip()) <= 70):
        problems.append("a name of 1 to 70 characters")
    missing = [label for label, value in (("postal code", address.postal_code),
                                          ("town", address.town), ("country", address.country))
               if not value.strip()]
    if missing:
        problems.append("the " + ", ".join(missing))
    if address.country and not validate_country.regex.match(address.country):
        problems.append("a two-letter country code")
    if address.building_number and not address.street:
        problems.append("a street for the building number")
    if "\n" in address.street or (address.postal_code and address.postal_code in address.street):
        problems.append("a street without the postal code and town (a combined address)")
    return problems
