"""Scoring grounding predictions with the MedSG-Bench metric."""
