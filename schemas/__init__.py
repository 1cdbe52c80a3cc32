"""Contracts: Arrow schemas, typed records, vocabularies, validation, boxes and identity."""
