"""Weak labellers: pure functions with no Prefect and no network (report NLP, SUV, lesion
localisation, CT projection, anatomy mapping). Each names itself and a version, which records
carry in their provenance."""
