"""Field-level parsing shared by the CSV and camt parsers.

Each function raises ``ValueError`` with a message meant for the uploader; the caller
adds the row and field, so the same wording appears whatever the file format.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

# Currencies whose minor unit is not the cent (ISO 4217); everything else has 2 decimals.
MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

# Thousands separators people and banks write: apostrophes (Swiss), spaces (fr/de).
THOUSANDS = str.maketrans("", "", "'’ \u00a0\u202f")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
CURRENCY = re.compile(r"[A-Z]{3}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SWISS_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def parse_amount(text: str) -> Decimal:
    """A signed Decimal from a human or bank amount.

    Accepts a decimal point or a decimal comma and the thousands separators ``'``, space,
    and the other of ``.``/``,`` when both appear. A single ``,`` or ``.`` is the decimal
    separator; several of the same are thousands separators (``1.234.567``).
    """
    raw = text.strip()
    if not raw:
        raise ValueError("is missing")
    s = raw.translate(THOUSANDS)
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        thousands_sep = "." if decimal_sep == "," else ","
        s = s.replace(thousands_sep, "").replace(decimal_sep, ".")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    elif s.count(",") > 1 or s.count(".") > 1:
        s = s.replace(",", "").replace(".", "")
    if not PLAIN_NUMBER.fullmatch(s):
        raise ValueError(f"{raw!r} is not a number")
    try:
        return Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"{raw!r} is not a number") from exc


def check_minor_units(amount: Decimal, currency: str) -> None:
    """Refuse sub-cent amounts: they mean a misread separator (``1.234`` for 1234)."""
    places = MINOR_UNITS.get(currency, 2)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(
            f"{amount} has more than {places} decimal places for {currency}"
        )


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if not code:
        raise ValueError("is missing")
    if not CURRENCY.fullmatch(code):
        raise ValueError(f"{text.strip()!r} is not an ISO 4217 currency code (like CHF)")
    return code


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``DD.MM.YYYY``; anything else is refused rather than guessed."""
    raw = text.strip()
    if not raw:
        raise ValueError("is missing")
    try:
        if len(raw) == 10 and raw[4] == "-" and ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw)
        m = SWISS_DATE.fullmatch(raw)
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError as exc:
        raise ValueError(f"{raw!r} is not a valid date") from exc
    raise ValueError(f"{raw!r} is not a date (use YYYY-MM-DD or DD.MM.YYYY)")


def parse_iso_day(text: str) -> date:
    """A camt ``Dt`` or ``DtTm``; a date-time keeps the calendar day the bank wrote.

    It is not converted to UTC: ``2026-11-03T00:30:00+01:00`` is booked on 3 Nov for
    the bank and the account holder, and moving it to 2 Nov would misdate the payment.
    """
    raw = text.strip()
    try:
        if "T" in raw:
            return datetime.fromisoformat(raw).date()
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{raw!r} is not an ISO date") from exc


def normalise_reference(text: str) -> str:
    """QRR / ISO 11649 references are printed in blocks; matching needs them compact."""
    return "".join(text.split()).upper()


def normalise_iban(text: str) -> str:
    return "".join(text.split()).upper()


def is_iban(text: str) -> bool:
    """Shape plus ISO 7064 mod-97 check, to tell an IBAN from any other reference."""
    s = normalise_iban(text)
    if not IBAN_SHAPE.fullmatch(s):
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def stable_hash(*parts: object) -> str:
    """A reference for lines the bank gave no id: same bytes in, same id out."""
    joined = "\x1f".join(str(p) for p in parts)
    return "sha256:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:32]
