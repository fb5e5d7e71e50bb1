"""State changes of readings. Every source (API, CSV, manual entry, gateways) calls
:func:`reading_ingest`; the other services wrap it for one path each.

Split by path; import from here (``from readings.services import reading_ingest``):

- ``ingestion``: :func:`reading_ingest`, :func:`reading_ingest_snapshot` (gateway polls)
- ``uploads``: the ``Upload`` row of every delivery (:func:`upload_open`,
  :func:`upload_close`, :func:`upload_finish`) and its bad-row report
- ``csv_import``: CSV files, stored then imported by a task
- ``batches``: API batches with an ``Idempotency-Key``
- ``manual``: readings typed in the portal, anomaly review
- ``consumption``: rebuilding consumption rollups
"""

from readings.services.batches import API_BATCH_LIMIT, reading_batch_submit
from readings.services.consumption import consumption_rollups_rebuild
from readings.services.csv_import import (
    upload_claim,
    upload_create,
    upload_process,
    upload_release,
    uploads_sweep,
)
from readings.services.ingestion import (
    CHUNK_ROWS,
    IngestResult,
    reading_ingest,
    reading_ingest_snapshot,
    readings_change,
)
from readings.services.manual import anomaly_review, reading_enter
from readings.services.uploads import (
    ERRORS_ON_PAGE,
    ErrorReport,
    upload_close,
    upload_error_csv,
    upload_finish,
    upload_open,
)

__all__ = [
    "API_BATCH_LIMIT",
    "CHUNK_ROWS",
    "ERRORS_ON_PAGE",
    "ErrorReport",
    "IngestResult",
    "anomaly_review",
    "consumption_rollups_rebuild",
    "reading_batch_submit",
    "reading_enter",
    "reading_ingest",
    "reading_ingest_snapshot",
    "readings_change",
    "upload_claim",
    "upload_close",
    "upload_create",
    "upload_error_csv",
    "upload_finish",
    "upload_open",
    "upload_process",
    "upload_release",
    "uploads_sweep",
]
