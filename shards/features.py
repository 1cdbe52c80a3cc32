"""Hugging Face ``datasets`` features of each config, derived from the Arrow record schemas
(so the dataset card declares exactly what the schemas say)."""

from __future__ import annotations

import datasets

from schemas.tables import RECORD_SCHEMAS
from shards.writer import image_fields


def family_and_images(config: str) -> tuple[str, int]:
    """``grounding`` -> (grounding, 1); ``sequence_3img`` -> (sequence, 3)."""
    if config.startswith("sequence_") and config.endswith("img"):
        return "sequence", int(config[len("sequence_") : -len("img")])
    return config, 1


def features_for(config: str) -> datasets.Features:
    family, n_images = family_and_images(config)
    features = {name: datasets.Image() for name in image_fields(n_images)}
    features["json"] = datasets.Features.from_arrow_schema(RECORD_SCHEMAS[family])
    return datasets.Features(features)


def features_yaml(config: str) -> list[dict]:
    """The ``features`` list of a config's ``dataset_info`` entry in the card's YAML."""
    return datasets.DatasetInfo(features=features_for(config))._to_yaml_dict()["features"]
