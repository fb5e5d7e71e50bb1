"""Services queue tasks by name after commit (billspree.core.queue)."""

import pytest

from billspree.core.queue import enqueue_many_on_commit, enqueue_on_commit, task_named


def test_task_named_finds_the_registered_task():
    task = task_named("readings.tasks.rollups_rebuild_task")
    assert task.name == "readings.tasks.rollups_rebuild_task"


def test_task_named_refuses_what_is_not_a_task():
    with pytest.raises(TypeError, match="is not a Celery task"):
        task_named("billspree.core.queue.task_named")
    with pytest.raises(AttributeError):
        task_named("readings.tasks.no_such_task")


@pytest.mark.django_db
def test_nothing_is_sent_before_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_on_commit("readings.tasks.rollups_rebuild_task", 1, "2026-01-01", "2026-01-02", [])
        enqueue_many_on_commit("billing.tasks.runs.bill_run_chunk", [(1,), (2,)])
        enqueue_many_on_commit("billing.tasks.runs.bill_run_chunk", [])
    assert len(callbacks) == 2
