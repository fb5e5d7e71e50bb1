"""State changes of billing, one module per concern; every service is importable from here
(``from billing import services``)."""

from billing.services.batches import (  # noqa: F401
    batch_create,
    batch_delete,
    batch_next_run,
    batch_period,
    batch_schedule_sync,
    batch_subscriptions_set,
    batch_update,
)
from billing.services.building_statements import (  # noqa: F401
    building_statement_generate,
    building_statement_request,
)
from billing.services.credit_notes import (  # noqa: F401
    credit_note_create,
    credit_note_for_adjustments,
    credit_note_preview,
    credited_total,
)
from billing.services.invoices import (  # noqa: F401
    invoice_create_draft,
    invoice_issue,
    invoice_line_add,
    invoice_line_remove,
    invoice_mark_paid,
    invoice_preview,
    invoice_void,
)
from billing.services.numbering import document_number_take  # noqa: F401
from billing.services.rebill import Rebill, adjustments_rebill  # noqa: F401
from billing.services.recompute import (  # noqa: F401
    bill_run_recompute_stale,
    invoice_recompute,
)
from billing.services.runs import (  # noqa: F401
    bill_run_cancel,
    bill_run_issue,
    bill_run_item_retry,
    bill_run_process_chunk,
    bill_run_resume,
    bill_run_retry_skipped,
    bill_run_start,
)
from billing.services.statement_delivery import (  # noqa: F401
    credit_note_send,
    invoice_statement_send,
    invoice_statements_generate,
    statement_delivery_send,
)
from billing.services.statements import (  # noqa: F401
    credit_note_pdf_store,
    invoice_statement_generate,
    invoice_statement_regenerate,
    statements_after_issue,
)
from billing.services.subscriptions import (  # noqa: F401
    subscription_create,
    subscription_delete,
    subscription_update,
)
