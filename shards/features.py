"""Hugging Face ``datasets`` features of each config, derived from the Arrow record schemas
(so the dataset card declares exactly what the schemas say), and of the ``images`` config
(``shards.writer.image_json``)."""

from __future__ import annotations

import datasets

from schemas.tables import RECORD_SCHEMAS
from shards.writer import IMAGES_CONFIG, image_fields

IMAGE_JSON = datasets.Features(
    {
        "height": datasets.Value("int64"),
        "licence": datasets.Value("string"),
        "modality": datasets.Value("string"),
        "sha256": datasets.Value("string"),
        "study_id": datasets.Value("string"),
        "view": datasets.Value("string"),
        "width": datasets.Value("int64"),
    }
)


def family_and_images(config: str) -> tuple[str, int]:
    """``grounding`` -> (grounding, 1); ``sequence_3img`` -> (sequence, 3)."""
    if config.startswith("sequence_") and config.endswith("img"):
        return "sequence", int(config[len("sequence_") : -len("img")])
    return config, 1


def features_for(config: str, layout: str = "per_record") -> datasets.Features:
    """The features of a config's shards: ``images``: ``png`` and the image's ``json``; a
    record config: the record ``json``, plus its image fields in layout ``per_record``
    (``record_view_features`` gives those of the joined per-record view)."""
    if config == IMAGES_CONFIG:
        return datasets.Features({"png": datasets.Image(), "json": IMAGE_JSON})
    if layout == "per_record":
        return record_view_features(config)
    family, _ = family_and_images(config)
    return datasets.Features({"json": datasets.Features.from_arrow_schema(RECORD_SCHEMAS[family])})


def record_view_features(config: str) -> datasets.Features:
    """One row per record with its image(s): the shard features of layout ``per_record``,
    and what ``shards.load_release.load_records`` gives in either layout."""
    family, n_images = family_and_images(config)
    features = {name: datasets.Image() for name in image_fields(n_images)}
    features["json"] = datasets.Features.from_arrow_schema(RECORD_SCHEMAS[family])
    return datasets.Features(features)


def features_yaml(config: str, layout: str = "per_record") -> list[dict]:
    """The ``features`` list of a config's ``dataset_info`` entry in the card's YAML."""
    info = datasets.DatasetInfo(features=features_for(config, layout))
    return info._to_yaml_dict()["features"]
