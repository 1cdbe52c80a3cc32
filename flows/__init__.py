"""Prefect flows: wiring only (tasks, caching, retries, fan-out, artifacts)."""
