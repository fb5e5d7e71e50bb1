"""Background jobs of monitoring: thin, each calls one service.

* ``export_job_run``: writes one background export (``monitoring.exports.jobs``);
  idempotent, a repeated delivery finds the job claimed or done and returns.
* ``monitoring_exports_beat`` (beat, every 5 minutes; ``monitoring/migrations/0001``):
  sends due scheduled reports once each, re-dispatches exports whose worker stopped and
  removes finished exports older than ``EXPORT_RETENTION_DAYS``.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def export_job_run(job_id: int) -> bool:
    from monitoring.exports.jobs import export_job_run as run

    return run(job_id=job_id)


@shared_task
def monitoring_exports_beat() -> dict[str, int]:
    from monitoring.exports.jobs import export_jobs_expire, export_jobs_sweep
    from monitoring.exports.schedules import scheduled_reports_send

    return {"reports_sent": scheduled_reports_send(), "exports_redispatched":
            export_jobs_sweep(), "exports_expired": export_jobs_expire()}
