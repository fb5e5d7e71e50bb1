"""Bank account numbers of organizations: IBAN and BIC checked with schwifty.

Why here (core) and not in billing: the organization's settings form, its API and the
statements all need the same answer to "is this a valid IBAN, and is it a QR-IBAN?".
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

#: A Swiss or Liechtenstein QR-IBAN has an institution id (IID) of 30000-31999 in
#: positions 5-9; it takes only QR references (QRR), any other IBAN only SCOR or none.
QR_IID_RANGE = range(30000, 32000)


def iban_compact(value: str) -> str:
    """The IBAN as stored: no spaces, upper case (raises ValueError when invalid)."""
    return IBAN(value).compact


def iban_or_raw(value: str) -> str:
    """The compact IBAN, or ``value`` unchanged when it is not one (for the validator to
    name what is wrong): people paste IBANs in groups of four, up to 42 characters."""
    try:
        return iban_compact(value)
    except (SchwiftyException, TypeError):
        return value


def validate_iban(value: str) -> None:
    """Django validator: a complete IBAN with a correct checksum and bank code."""
    if not value:
        return
    try:
        IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(f"Not a valid IBAN: {exc}", code="invalid_iban") from exc


def validate_bic(value: str) -> None:
    if not value:
        return
    try:
        BIC(value)
    except SchwiftyException as exc:
        raise ValidationError(f"Not a valid BIC: {exc}", code="invalid_bic") from exc


def is_qr_iban(value: str) -> bool:
    """True for a valid CH/LI IBAN whose IID is in the QR-IBAN range."""
    try:
        iban = IBAN(value)
    except (SchwiftyException, TypeError):
        return False
    if iban.country_code not in ("CH", "LI"):
        return False
    iid = iban.compact[4:9]
    return iid.isdigit() and int(iid) in QR_IID_RANGE
