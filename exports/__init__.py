"""Exports of a release into the formats peer tools read: the MedSG-Bench test format,
LLaMA-Factory sharegpt (Qwen box tokens) and LLaVA conversations."""
