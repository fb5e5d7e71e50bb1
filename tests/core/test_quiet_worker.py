"""The filesystem broker keeps all its state under the data folder (nothing appears in the
working directory or the repository), and rendering a statement does not flood the
worker's log with font-subsetting lines."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing.services import statements as svc
from tests.billing.factories_statements import billed_house, brand

ROOT = Path(__file__).resolve().parents[2]
PRINT_BROKER = ("import django, json; django.setup(); from django.conf import settings; "
                "print(json.dumps([settings.CELERY_BROKER_URL, "
                "settings.CELERY_BROKER_TRANSPORT_OPTIONS]))")


def test_the_filesystem_broker_keeps_its_control_folder_under_the_data_folder(tmp_path):
    """Without REDIS_URL, kombu's filesystem transport writes its exchange table to
    ``control_folder`` (default: ``control`` in the working directory, which ended up
    committed at the repository root); it must be under BILLSPREE_DATA_DIR, like the queue."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="billspree.settings", BILLSPREE_DATA_DIR=str(data),
               PYTHONPATH=str(ROOT),  # this checkout, run from another directory
               DATABASE_URL=os.environ.get("DATABASE_URL")
               or "postgres://postgres@127.0.0.1:5432/unused")  # settings only parse it
    done = subprocess.run([sys.executable, "-c", PRINT_BROKER], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    url, options = json.loads(done.stdout)
    assert url == "filesystem://"
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[key]).is_relative_to(data), (key, options[key])
        assert Path(options[key]).is_dir(), key
    assert not (tmp_path / "control").exists()


def test_the_repository_holds_no_broker_state():
    tracked = subprocess.run(["git", "ls-files", "control"], cwd=ROOT, capture_output=True,
                             text=True, check=False)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert tracked.stdout.strip() == ""
    assert "/control/" in (ROOT / ".gitignore").read_text().split()


def test_rendering_a_statement_logs_no_font_subsetting_chatter(in_org_a, caplog,
                                                               django_capture_on_commit_callbacks):
    brand(in_org_a.org)
    with django_capture_on_commit_callbacks(execute=False):
        invoice = billed_house().invoice
    caplog.set_level(logging.INFO)  # the worker's level (celery -l info)
    pdf = svc.invoice_statement_render(invoice=invoice)
    assert pdf.startswith(b"%PDF")
    chatter = [r for r in caplog.records if r.name.startswith(("fontTools", "weasyprint.progress"))
               and r.levelno < logging.WARNING]
    assert chatter == [], f"{len(chatter)} lines, e.g. {chatter[0].getMessage()!r}"
