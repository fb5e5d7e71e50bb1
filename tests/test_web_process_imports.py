"""A web process loads neither WeasyPrint nor xlsxwriter until it writes a PDF or a
workbook: together they are ~55 MB per process, and issue 18 asks a 1,000,000-row CSV
export (served by such a process) to peak below 150 MB. Checked in a fresh interpreter,
as gunicorn's worker starts: settings, every app, every URL module and view."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("weasyprint", "xlsxwriter")

_PROBE = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
get_resolver()._populate()
import billing.statements.render, monitoring.exports.pages, monitoring.api.exports  # noqa
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _loaded(extra: str = "") -> set[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billspree.settings"}
    out = subprocess.run([sys.executable, "-c", _PROBE.replace("print(", extra + "print(")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_web_process_does_not_load_the_pdf_and_xlsx_writers():
    loaded = _loaded()
    assert "django" in loaded and "rest_framework" in loaded  # the probe loaded the site
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_making_a_pdf_fetcher_loads_weasyprint():
    """The probe can fail: asking for the PDF fetcher does load WeasyPrint."""
    loaded = _loaded("from billspree.core.pdf import url_fetcher; url_fetcher()\n")
    assert "weasyprint" in loaded
