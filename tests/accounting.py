"""Independent accounting of a build: reads the label files themselves and checks that every
image they name and every row they hold ended as published records, findings or quarantine
rows (the "nothing is lost" invariant)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from schemas.identity import Pseudonymizer
from shards.layout import BuildLayout
from shards.manifest import verify
from tests.helpers import record_shards


@dataclass
class Inputs:
    """A label file, its dataset name, and how its rows name image ids."""

    dataset: str
    labels_csv: Path
    image_column: str  # "Image Index" (NIH) or "patientId" (RSNA)


@dataclass
class Accounting:
    images_named: int = 0
    named: set[str] = field(default_factory=set)  # study ids of the images named
    published: set[str] = field(default_factory=set)  # every study a record shows
    quarantined_items: set[str] = field(default_factory=set)
    lost_images: list[str] = field(default_factory=list)
    lost_rows: list[tuple[str, int]] = field(default_factory=list)


def published_study_ids(out: Path, datasets: set[str] | None = None) -> set[str]:
    """Study ids of every published record (of the given source datasets only, when given)."""
    import json
    import tarfile

    ids = set()
    for tar_path in record_shards(out):
        if "_build" in tar_path.parts:
            continue
        with tarfile.open(tar_path) as tar:
            for m in tar.getmembers():
                if m.name.endswith(".json"):
                    record = json.loads(tar.extractfile(m).read())
                    if datasets and record["provenance"]["source_dataset"] not in datasets:
                        continue
                    images = record.get("images") or [record["image"]]
                    ids.update(i["study_id"] for i in images)
    return ids


def account(out: Path, inputs: list[Inputs], salt: str) -> Accounting:
    assert verify(out) == [], "release does not match its manifest"
    layout = BuildLayout(out)
    ids = Pseudonymizer(salt)
    quarantine = pq.read_table(layout.quarantine).to_pylist()
    findings = pq.read_table(layout.tables / "findings.parquet").to_pylist()
    acc = Accounting(published=published_study_ids(out))
    acc.quarantined_items = {q["item_id"] for q in quarantine if q["unit"] in ("item", "record")}
    row_quarantined = {
        (q["source_ref"], q["row_number"]) for q in quarantine if q["unit"] == "label_row"
    }
    finding_rows = {(f["study_id"], f["source_row"]) for f in findings}
    for inp in inputs:
        with inp.labels_csv.open(newline="") as f:
            rows = list(csv.reader(f))[1:]
        header = {"Image Index": 0, "patientId": 0}[inp.image_column]
        named = set()
        for number, row in enumerate(rows, start=1):
            image_id = row[header]
            study = ids.study(inp.dataset, image_id)
            if (str(inp.labels_csv), number) in row_quarantined:
                continue  # an image named only by set-aside rows is not an input item
            named.add(study)
            if (study, number) in finding_rows or study in acc.quarantined_items:
                continue
            acc.lost_rows.append((str(inp.labels_csv), number))
        acc.images_named += len(named)
        acc.named |= named
        for study in sorted(named):
            if study not in acc.published and study not in acc.quarantined_items:
                acc.lost_images.append(study)
    return acc
