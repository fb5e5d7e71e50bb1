"""Celery tasks: statements. Thin: take ids, load, call one service."""
