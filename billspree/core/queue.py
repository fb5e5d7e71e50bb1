"""Queue Celery tasks from services without importing the task modules.

Tasks import services (a task loads ids and calls one service); services queue tasks once
their transaction commits. If a service imported its task module, the two would import
each other, and every such pair used to hide the circle behind an import inside a
function. Here a service names the task by its dotted path instead; the module is imported
only when the task is sent, after commit, when both modules are long loaded.

    enqueue_on_commit("billing.tasks.runs.bill_run_chunk", chunk.pk)

A misspelt path fails loudly at send time (``ImportError``/``AttributeError``), and
``tests/test_import_cycles.py``-style checks stay meaningful because no service imports a
``tasks`` module.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from celery import Task
from django.db import transaction


def task_named(path: str) -> Task:
    """The Celery task at ``path`` (``"app.tasks.module.task_name"``)."""
    module, _, name = path.rpartition(".")
    task = getattr(import_module(module), name)
    if not isinstance(task, Task):
        raise TypeError(f"{path} is not a Celery task")
    return task


def enqueue_on_commit(path: str, *args: Any, **kwargs: Any) -> None:
    """Send the task at ``path`` with these arguments once the current transaction commits
    (at once outside a transaction). A rolled-back transaction sends nothing, so a worker
    never loads a row that was not written."""
    transaction.on_commit(lambda: task_named(path).delay(*args, **kwargs))


def enqueue_many_on_commit(path: str, calls: list[tuple[Any, ...]]) -> None:
    """Send the task at ``path`` once per argument tuple in ``calls``, after commit, in
    order: a bill run's chunks, a statement batch's groups."""
    if not calls:
        return

    def send() -> None:
        task = task_named(path)
        for args in calls:
            task.delay(*args)

    transaction.on_commit(send)
