"""The Celery app; broker and backend come from Django settings (see settings.py)."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

from billspree.core.gc_tuning import worker_gc_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

app = Celery("billspree")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Workers keep their start-up heap out of the collector's way (see gc_tuning's docstring):
# before the pool forks, and in each child after its own start-up.
worker_init.connect(worker_gc_tune, weak=False)
worker_process_init.connect(worker_gc_tune, weak=False)
