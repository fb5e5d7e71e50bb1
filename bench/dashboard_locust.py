"""Locust users of ``bench/dashboard.py``: each requests the energy dashboard and
``/healthz/`` in turn (the baseline, under the same load), logged in with the session in
``BENCH_SESSION``; every response time is written to ``BENCH_TIMES`` (JSON) at the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

from locust import HttpUser, between, events, task

TIMES: dict[str, list] = {"dashboard": [], "healthz": [], "failures": []}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None,
            exception=None, **kwargs):
    if exception is not None or response is None or response.status_code != 200:
        TIMES["failures"].append(f"{name}: {exception or getattr(response, 'status_code', '')}")
    else:
        TIMES[name].append(response_time)


@events.quitting.add_listener
def _write(environment, **kwargs):
    Path(os.environ["BENCH_TIMES"]).write_text(json.dumps(TIMES))


class Manager(HttpUser):
    wait_time = between(0.1, 0.3)

    def on_start(self) -> None:
        self.client.cookies.set("sessionid", os.environ["BENCH_SESSION"])

    @task
    def dashboard_and_baseline(self) -> None:
        self.client.get("/monitoring/", name="dashboard", allow_redirects=False)
        self.client.get("/healthz/", name="healthz", allow_redirects=False)
