"""``medsg export``: a release (or one split of it) written in a peer tool's format, with the
images alongside. Deterministic: same release, same files."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from exports.formats import llava_item, medsg_item, sharegpt_item
from shards.reader import iter_release

FORMATS = ("medsg", "sharegpt", "llava")


@dataclass
class ExportReport:
    written: Counter = field(default_factory=Counter)  # per task
    skipped: Counter = field(default_factory=Counter)  # per task: not expressible in the format
    files: list[str] = field(default_factory=list)


def export_release(
    release: Path, out: Path, fmt: str, *, splits: tuple[str, ...] = ("train", "validation", "test")
) -> ExportReport:
    """Write ``<out>/<fmt>_<split>.json`` per split and ``<out>/images/<study_id>.png``;
    for sharegpt also ``<out>/dataset_info.json`` (LLaMA-Factory)."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {FORMATS}")
    make = {"medsg": medsg_item, "sharegpt": sharegpt_item, "llava": llava_item}[fmt]
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    items: dict[str, list[dict]] = {s: [] for s in splits}
    report = ExportReport()
    for sample in iter_release(release):
        if sample.split not in items:
            continue
        refs = sample.record["images"] if "images" in sample.record else [sample.record["image"]]
        paths = []
        for ref, data in zip(refs, sample.images, strict=True):
            target = images_dir / f"{ref['study_id']}.png"
            if not target.exists():
                target.write_bytes(data)
            paths.append(f"images/{target.name}")
        item = make(sample.record, paths)
        if item is None:
            report.skipped[sample.record["task"]] += 1
            continue
        items[sample.split].append(item)
        report.written[sample.record["task"]] += 1
    for split, rows in items.items():
        if not rows:
            continue
        rows.sort(key=lambda r: r["id"])
        name = f"{fmt}_{split}.json"
        (out / name).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        report.files.append(name)
    if fmt == "sharegpt":
        info = {
            f"medsg_{Path(name).stem.removeprefix('sharegpt_')}": {
                "file_name": name,
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "images": "images"},
            }
            for name in report.files
        }
        (out / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
        report.files.append("dataset_info.json")
    return report
