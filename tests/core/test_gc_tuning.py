"""Worker processes freeze their start-up heap and raise the young-generation threshold
(billspree.core.gc_tuning); a Celery worker runs it through its start-up signals."""

import gc
import weakref

import pytest
from celery.signals import worker_init, worker_process_init

from billspree.core.gc_tuning import YOUNG_THRESHOLD, worker_gc_tune


@pytest.fixture
def restored_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tuning_freezes_the_heap_and_keeps_the_old_generations_thresholds(restored_gc):
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    assert gc.get_freeze_count() == 0
    worker_gc_tune()
    assert gc.get_freeze_count() > 1000  # Django, the apps, pytest: all out of sight
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    worker_gc_tune(sender=None)  # again, as the second signal does: same result
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)


def _receivers(signal) -> list:
    found = []
    for _key, receiver in ((r[0], r[1]) for r in signal.receivers):
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        found.append(receiver)
    return found


def test_celery_worker_start_up_runs_it():
    import billspree.celery  # noqa: F401  (connects the receivers)

    assert worker_gc_tune in _receivers(worker_init)
    assert worker_gc_tune in _receivers(worker_process_init)
