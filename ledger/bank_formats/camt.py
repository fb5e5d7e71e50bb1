"""ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification) parsing.

Written on lxml rather than pycamt 1.1.1: pycamt reads only ``Stmt``/``Rpt`` (no
camt.054 ``Ntfctn``), takes the first ``.//Amt`` of a transaction (which can be the
instructed amount in a foreign currency rather than ``AmtDtls/TxAmt``), and returns
strings, so we would re-parse and re-check everything anyway.

The element paths are the same in versions 02..08+ apart from a few that moved
(``Dbtr/Nm`` became ``Dbtr/Pty/Nm``, ``Sts`` became ``Sts/Cd``, ``TxDtls/Amt`` was
added); both spellings are read, so the parser is version-agnostic within a message.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from lxml import etree

from ledger.bank_formats import values
from ledger.bank_formats.lines import BankFileError, BankLine, RowError

NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d{2})")
SUPPORTED = {"053": "Stmt", "054": "Ntfctn"}
BOOKED = "BOOK"
NOT_BOOKED = {"PDNG", "INFO", "FUTR"}  # pending / informational / future: not money yet
TRUE = {"true", "1"}

#: Records a problem: (field, message); the row is bound by the caller.
ErrorSink = Callable[[str, str], None]


def safe_parser() -> etree.XMLParser:
    """No DTDs, entities or network: an upload must not read files or call out (XXE)."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


def read_document(data: bytes) -> tuple[etree._Element, str, str]:
    """Parse and identify the message: (root, message number '053'/'054', namespace)."""
    if not data.startswith(b"\xef\xbb\xbf"):
        data = data.lstrip()  # whitespace before <?xml ...?> is a common export glitch
    try:
        tree = etree.fromstring(data, parser=safe_parser())  # noqa: S320 - safe parser
    except etree.XMLSyntaxError as exc:
        raise BankFileError.single("file", f"not well-formed XML ({exc})") from exc
    if tree.getroottree().docinfo.doctype:
        raise BankFileError.single("file", "XML with a DOCTYPE is not accepted")
    ns = etree.QName(tree).namespace or ""
    m = NAMESPACE.fullmatch(ns)
    if not m:
        raise BankFileError.single(
            "namespace",
            f"{ns or 'no namespace'!r} is not a camt.053 or camt.054 message "
            "(expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN or camt.054.001.NN)",
        )
    if m[1] not in SUPPORTED:
        raise BankFileError.single(
            "namespace",
            f"camt.{m[1]} is not supported; upload a camt.053 statement or a camt.054 "
            "notification of booked entries",
        )
    return tree, m[1], ns


@dataclass
class Finder:
    """Namespace-qualified lookups, so paths read as in the standard: ``Refs/TxId``."""

    ns: str

    def path(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{p}" for p in path.split("/"))

    def find(self, el: etree._Element | None, path: str) -> etree._Element | None:
        return None if el is None else el.find(self.path(path))

    def findall(self, el: etree._Element | None, path: str) -> list[etree._Element]:
        return [] if el is None else el.findall(self.path(path))

    def text(self, el: etree._Element | None, *paths: str) -> str:
        """The stripped text of the first of ``paths`` present, else ``""``."""
        for p in paths:
            found = self.find(el, p)
            if found is not None and found.text and found.text.strip():
                return found.text.strip()
        return ""


@dataclass
class Context:
    """What an entry's transactions need from around them, and the error sink."""

    f: Finder
    errors: list[RowError]
    account_iban: str


def parse_camt(data: bytes) -> list[BankLine]:
    """All booked transactions of a camt.053/.054 file, one BankLine per ``TxDtls``."""
    tree, message, ns = read_document(data)
    f = Finder(ns)
    errors: list[RowError] = []
    lines: list[BankLine] = []
    row = 0
    entry_no = 0
    for container in tree.iter(f.path(SUPPORTED[message])):
        ctx = Context(f, errors, values.normalise_iban(f.text(container, "Acct/Id/IBAN")))
        for entry in f.findall(container, "Ntry"):
            entry_no += 1
            txs = transactions_of(f, entry)
            first_row = row + 1
            row += len(txs)
            lines.extend(parse_entry(ctx, entry, entry_no, txs, first_row))
    if errors:
        raise BankFileError(errors)
    return disambiguate(lines)


def transactions_of(f: Finder, entry: etree._Element) -> list[etree._Element | None]:
    """The entry's ``TxDtls``; ``[None]`` for an entry that books one unexplained sum."""
    txs = [tx for d in f.findall(entry, "NtryDtls") for tx in f.findall(d, "TxDtls")]
    return txs or [None]


def entry_status(f: Finder, entry: etree._Element) -> str:
    return f.text(entry, "Sts/Cd", "Sts").upper()


def parse_entry(
    ctx: Context,
    entry: etree._Element,
    entry_no: int,
    txs: list[etree._Element | None],
    first_row: int,
) -> list[BankLine]:
    """The BankLines of one ``Ntry`` (booked only), checking the batch adds up."""
    f, errors = ctx.f, ctx.errors
    n_errors = len(errors)

    def err(field: str, message: str, row: int = first_row) -> None:
        errors.append(RowError(row, field, f"entry {entry_no}: {message}"))

    status = entry_status(f, entry)
    if status in NOT_BOOKED:
        return []
    if status != BOOKED:
        err("Sts", f"status {status!r} is not BOOK, PDNG or INFO" if status else "no status")
        return []

    sign = indicator_sign(f.text(entry, "CdtDbtInd"), err)
    amount, currency = amount_of(f.find(entry, "Amt"), "Amt", err)
    booked_text = f.text(entry, "BookgDt/Dt", "BookgDt/DtTm")
    booked_on = None
    if not booked_text:
        err("BookgDt", "booked entry has no booking date")
    else:
        try:
            booked_on = values.parse_iso_day(booked_text)
        except ValueError as exc:
            err("BookgDt", str(exc))
    value_on = None
    value_text = f.text(entry, "ValDt/Dt", "ValDt/DtTm")
    if value_text:
        try:
            value_on = values.parse_iso_day(value_text)
        except ValueError as exc:
            err("ValDt", str(exc))

    entry_ref = f.text(entry, "NtryRef")
    account_iban = ctx.account_iban
    if entry_ref and values.is_iban(entry_ref):
        # Swiss camt.054: the QR-IBAN the payer used is here, not in Acct/Id/IBAN.
        account_iban, entry_ref = values.normalise_iban(entry_ref), ""
    entry_svcr_ref = f.text(entry, "AcctSvcrRef")
    reversal = f.text(entry, "RvslInd").lower() in TRUE

    lines = []
    for i, tx in enumerate(txs, start=1):
        row = first_row + i - 1
        tx_sign = sign
        tx_ind = f.text(tx, "CdtDbtInd")
        if tx_ind:
            tx_sign = indicator_sign(tx_ind, lambda fl, m, r=row: err(fl, m, r))
        tx_amount, tx_currency = amount, currency
        amt_el = f.find(tx, "AmtDtls/TxAmt/Amt")
        if amt_el is None:
            amt_el = f.find(tx, "Amt")
        if amt_el is not None:
            tx_amount, tx_currency = amount_of(
                amt_el, "TxAmt", lambda fl, m, r=row: err(fl, m, r)
            )
        elif len(txs) > 1:
            err("TxAmt", f"transaction {i} of a batch has no amount", row)
        if tx_amount is None or not tx_currency or tx_sign is None or booked_on is None:
            continue
        lines.append(
            BankLine(
                row=row,
                amount=tx_sign * tx_amount,
                currency=tx_currency,
                booked_on=booked_on,
                value_on=value_on,
                reference=values.normalise_reference(
                    f.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
                ),
                remittance=remittance_of(f, tx),
                payer_name=f.text(
                    tx, "RltdPties/Dbtr/Pty/Nm", "RltdPties/Dbtr/Nm",
                    "RltdPties/UltmtDbtr/Pty/Nm", "RltdPties/UltmtDbtr/Nm",
                ),
                payer_iban=values.normalise_iban(f.text(tx, "RltdPties/DbtrAcct/Id/IBAN")),
                bank_reference=bank_reference_of(
                    f, tx, i, len(txs), entry_svcr_ref, entry_ref, account_iban
                ),
                account_iban=account_iban,
                reversal=reversal,
            )
        )
    if len(errors) == n_errors and len(lines) > 1 and amount is not None and sign is not None:
        check_batch_total(lines, sign * amount, currency, err)
    return lines


def indicator_sign(text: str, err: ErrorSink) -> int | None:
    if text == "CRDT":
        return 1
    if text == "DBIT":
        return -1
    err("CdtDbtInd", f"{text!r} is not CRDT or DBIT" if text else "missing CdtDbtInd")
    return None


def amount_of(el: etree._Element | None, field: str, err: ErrorSink) -> tuple[Decimal | None, str]:
    """An unsigned camt amount with its ``Ccy``; the sign comes from ``CdtDbtInd``."""
    if el is None or not (el.text or "").strip():
        err(field, "missing amount")
        return None, ""
    try:
        currency = values.parse_currency(el.get("Ccy", ""))
    except ValueError as exc:
        err(field, f"currency (Ccy) {exc}")
        return None, ""
    text = el.text.strip()
    try:
        amount = Decimal(text) if values.PLAIN_NUMBER.fullmatch(text) else None
        if amount is None:
            raise ValueError(f"{text!r} is not a number")
        if amount <= 0:
            raise ValueError(f"{text} is not a positive amount")
        values.check_minor_units(amount, currency)
    except ValueError as exc:
        err(field, str(exc))
        return None, ""
    return amount, currency


def remittance_of(f: Finder, tx: etree._Element | None) -> str:
    """``Ustrd`` lines, then the free text of structured remittance (``AddtlRmtInf``).

    Swiss QR-bill payers' "additional information" arrives in ``AddtlRmtInf``; it often
    carries the invoice number, so it is kept for matching.
    """
    parts = [
        el.text.strip()
        for path in ("RmtInf/Ustrd", "RmtInf/Strd/AddtlRmtInf")
        for el in f.findall(tx, path)
        if el.text and el.text.strip()
    ]
    return " ".join(parts)


def bank_reference_of(
    f: Finder,
    tx: etree._Element | None,
    index: int,
    count: int,
    entry_svcr_ref: str,
    entry_ref: str,
    account_iban: str,
) -> str:
    """The bank's id of this line, in order of how unique the standard makes it."""
    own = f.text(tx, "Refs/AcctSvcrRef")
    if own:
        return own
    if entry_svcr_ref:
        return entry_svcr_ref if count == 1 else f"{entry_svcr_ref}:{index}"
    tx_id = f.text(tx, "Refs/TxId")
    if entry_ref and tx_id:
        return f"{entry_ref}:{tx_id}"
    e2e = f.text(tx, "Refs/EndToEndId")
    if e2e and e2e.upper() != "NOTPROVIDED":
        return e2e
    return ""  # filled in by disambiguate() from the line's own fields


def disambiguate(lines: list[BankLine]) -> list[BankLine]:
    """Make every bank_reference unique in the file, deterministically.

    A line without an id gets a hash of its fields and position; ids a bank repeated
    (some copy the entry's AcctSvcrRef into every TxDtls) get ``:1``, ``:2``… in
    document order. Otherwise an idempotent import would drop the second line as a
    duplicate: a silently lost payment.
    """
    lines = [
        line if line.bank_reference else replace(
            line,
            bank_reference=values.stable_hash(
                line.account_iban, line.row, line.booked_on, line.amount, line.currency,
                line.reference, line.remittance, line.payer_iban,
            ),
        )
        for line in lines
    ]
    counts = Counter(line.bank_reference for line in lines)
    seen: Counter[str] = Counter()
    out = []
    for line in lines:
        ref = line.bank_reference
        if counts[ref] > 1:
            seen[ref] += 1
            line = replace(line, bank_reference=f"{ref}:{seen[ref]}")
        out.append(line)
    return out


def check_batch_total(
    lines: list[BankLine], entry_amount: Decimal, currency: str, err: ErrorSink
) -> None:
    """A batch whose transactions do not add up to the entry means some are missing."""
    if any(line.currency != currency for line in lines):
        return
    total = sum((line.amount for line in lines), Decimal(0))
    if total != entry_amount:
        err(
            "Amt",
            f"the {len(lines)} transactions add up to {total} {currency} "
            f"but the entry books {entry_amount} {currency}",
        )
