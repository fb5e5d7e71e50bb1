"""Celery tasks: bill runs. Thin: take ids, load, call one service."""
