"""The statement of account as a PDF, branded like billing's statements (same print
stylesheet, issuer block and logo), rendered by WeasyPrint with the static-only fetcher."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from billing.selectors.statements import logo_data_uri
from billing.statements.render import html_to_pdf
from billspree.core import timefmt
from ledger.selectors.accounts import AccountStatement


def statement_html(statement: AccountStatement) -> str:
    org = statement.account.organization
    return render_to_string("ledger/statement_pdf.html", {
        "st": statement, "account": statement.account, "tenant": statement.account.tenant,
        "s": {"organization": org, "logo_data_uri": logo_data_uri(org)},
        "printed_on": timefmt.local_date(timezone.now(), org),
    })


def statement_pdf(statement: AccountStatement) -> bytes:
    return html_to_pdf(statement_html(statement))


def statement_filename(statement: AccountStatement) -> str:
    who = statement.account.tenant.customer_number or str(statement.account.public_id)[:8]
    return (f"statement-of-account-{who}-{statement.start:%Y%m%d}-{statement.end:%Y%m%d}"
            f".pdf")
