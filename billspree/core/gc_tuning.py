"""The garbage collector's settings in worker processes.

A worker holds a large heap that lives as long as the process (Django, the URL and template
caches, WeasyPrint's fonts and print stylesheet) and runs tasks that allocate hundreds of
thousands of short-lived objects: a statement PDF is ~180 ms of layout. With CPython's
default thresholds (700, 10, 10) a full collection walks that whole heap every third PDF
or so, about 110 ms each time (bench/statements.py counted 11 in 30 renders): a quarter
of a statement worker's time went to the collector.

Freezing what start-up allocated takes it out of every later collection (and keeps the
pages of a forked child shared with its parent), and a first threshold of 10,000 lets a
render's temporaries die in the young generation instead of being promoted. Measured on
60 renders: no full collection, peak RSS 149 MB instead of 144. The other two thresholds
stay at their defaults, so cyclic garbage that does reach the old generation is still
collected as often as before.
"""

from __future__ import annotations

import gc

#: allocations between two young-generation collections (CPython's default is 700)
YOUNG_THRESHOLD = 10_000


def worker_gc_tune(**_signal_kwargs) -> None:
    """Collect once, freeze the survivors, raise the young threshold. Idempotent; connected
    to Celery's ``worker_init`` (before the pool forks) and ``worker_process_init`` (in each
    child, after its own start-up) in ``billspree/celery.py``."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
