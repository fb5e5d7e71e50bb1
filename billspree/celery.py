"""The Celery app; broker and backend come from Django settings (see settings.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

app = Celery("billspree")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
