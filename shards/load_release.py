"""The per-record view of a medsg release: one row per record with its image(s) attached.

This file is copied byte for byte into every release of layout ``once`` (beside README.md)
and imports only ``datasets``: a user runs it without the medsg code. In that layout the
record configs (``grounding``, ``cot``, ``sequence_<N>img``) hold the record JSON only and
the ``images`` config holds each published image once per split, keyed by its study id
(``json.study_id``); a record names its images by study id (``json.image.study_id``, or
``json.images[i].study_id`` for sequences). ``load_records`` joins the two:

    from load_release import load_records
    ds = load_records("<release folder>", "grounding", "train")
    ds[0]["png"]  # PIL image; ds[0]["json"]: the record
    for row in load_records("<release folder>", "sequence_2img", "train", streaming=True):
        row["img0.png"], row["img1.png"]

``streaming=True`` streams the records and holds the split's images (PNG bytes, about the
size of the split's ``images`` shards) in memory; otherwise ``datasets`` caches both configs
as Arrow and the joined rows are written to its cache by ``Dataset.map``. A release of
layout ``per_record`` (records carry their images) is returned as loaded.
"""

from __future__ import annotations

import datasets

IMAGES_CONFIG = "images"


def image_fields(config: str) -> list[str]:
    """The image columns of a record config: ``png``, or ``img0.png`` ... for sequences."""
    if config.startswith("sequence_") and config.endswith("img"):
        return [f"img{i}.png" for i in range(int(config[len("sequence_") : -len("img")]))]
    return ["png"]


def study_ids(config: str, record: dict) -> list[str]:
    """The study ids of a record's images, in the record's image order."""
    refs = record["images"] if len(image_fields(config)) > 1 else [record["image"]]
    return [ref["study_id"] for ref in refs]


def load_records(path: str, config: str, split: str, *, streaming: bool = False, **kwargs):
    """The records of one config and split, each row with its image column(s) attached
    (``datasets.Image``) and ``json``; ``kwargs`` go to every ``datasets.load_dataset``."""
    records = datasets.load_dataset(path, config, split=split, streaming=streaming, **kwargs)
    fields = image_fields(config)
    if records.features is not None and all(f in records.features for f in fields):
        return records  # layout per_record: the records carry their images
    images = datasets.load_dataset(
        path, IMAGES_CONFIG, split=split, streaming=streaming, **kwargs
    ).cast_column("png", datasets.Image(decode=False))
    if streaming:
        by_id = {row["json"]["study_id"]: row["png"] for row in images}

        def png(study_id: str) -> dict:
            return by_id[study_id]
    else:
        index = {meta["study_id"]: i for i, meta in enumerate(images["json"])}

        def png(study_id: str) -> dict:
            return images[index[study_id]]["png"]

    def attach(row: dict) -> dict:
        ids = study_ids(config, row["json"])
        return {field: png(sid) for field, sid in zip(fields, ids, strict=True)}

    features = datasets.Features(
        {**{f: datasets.Image() for f in fields}, "json": records.features["json"]}
    )
    return records.map(attach, features=features)


LOADER = "load_release.py"  # its name in a release


def write_loader(root) -> str:
    """Copy this file into the release staged at ``root`` (a ``pathlib.Path``), byte for
    byte; returns its path relative to root (used by the build, not by users)."""
    from pathlib import Path

    (Path(root) / LOADER).write_bytes(Path(__file__).read_bytes())
    return LOADER
