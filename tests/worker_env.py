"""What each pytest-xdist worker must not share with the others, set before Django reads its
settings (loaded with ``-p tests.worker_env`` from pyproject's ``addopts``, so it runs
before pytest-django imports the settings; a conftest would be too late).

``make test`` runs the suite on two workers (``-n 2``). Each worker already gets its own
test database from pytest-django (``test_<name>_gw0``, ``test_<name>_gw1``); here it also
gets:

- its own Redis database: ``REDIS_URL``'s database number plus the worker's index (``/0``
  gives gw0 ``/0`` and gw1 ``/1``), and the same for ``CACHE_REDIS_URL``. Celery's queues,
  the worker processes the integration tests start, and the throttle/login counters that
  every test clears (``tests.conftest.clear_cache``) then never cross between workers;
- its own folders for uploaded files (``UPLOADS_ROOT``/``MEDIA_ROOT`` + ``/gw0``...), since
  tests compare the set of files in the uploads storage before and after a refused upload.

Child processes (workers, beat, the simulator, ``manage.py``) inherit the environment, so
they meet the same Redis database and folders. Without xdist (``-n0``, ``-p no:xdist``)
nothing changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def redis_url_for_worker(url: str, index: int) -> str:
    """``redis://host:port/N`` → ``redis://host:port/N+index`` (no number means 0)."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) + index
    return urlunsplit(parts._replace(path=f"/{db}"))


def _isolate(worker: str) -> None:
    index = int(worker.removeprefix("gw"))
    for name in ("REDIS_URL", "CACHE_REDIS_URL"):
        if os.environ.get(name):
            os.environ[name] = redis_url_for_worker(os.environ[name], index)
    data = Path(os.environ.get("BILLSPREE_DATA_DIR") or ROOT / ".data")
    for name, default in (("UPLOADS_ROOT", data / "uploads"), ("MEDIA_ROOT", data / "media")):
        os.environ[name] = str(Path(os.environ.get(name) or default) / worker)


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and not os.environ.get("BILLSPREE_WORKER_ENV"):
    os.environ["BILLSPREE_WORKER_ENV"] = _worker  # once per process tree (children import it too)
    _isolate(_worker)
