"""The build engine: plan the configured sources, process items chunk by chunk, finalize
(deduplicate, tables, item statuses) and publish (shards, card, manifest), republish after
review. Plain functions; ``flows`` wraps them in Prefect tasks."""

__version__ = "0.1.0"
