"""``medsg export``: a release (or one split of it) written in a peer tool's format, with the
images alongside. Deterministic: same release, same files."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from exports.formats import llava_item, medsg_item, sharegpt_item
from exports.resize import Frame
from shards.reader import iter_release

FORMATS = ("medsg", "sharegpt", "llava")


@dataclass
class ExportReport:
    written: Counter = field(default_factory=Counter)  # per task
    skipped: Counter = field(default_factory=Counter)  # per task: not expressible in the format
    files: list[str] = field(default_factory=list)


def export_release(
    release: Path,
    out: Path,
    fmt: str,
    *,
    splits: tuple[str, ...] = ("train", "validation", "test"),
    frame: Frame | None = None,
) -> ExportReport:
    """Write ``<out>/<fmt>_<split>.json`` per split, ``<out>/images/<study_id>.png`` and
    ``<out>/README.md`` (what the frame of the boxes is); for sharegpt also
    ``<out>/dataset_info.json`` (LLaMA-Factory). ``frame`` is the resize rule of the tool
    that will read the export (``exports.resize``; default: none, the file's pixels)."""
    frame = frame or Frame()
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r} is not one of {FORMATS}")
    make = {"medsg": medsg_item, "sharegpt": sharegpt_item, "llava": llava_item}[fmt]
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    items: dict[str, list[dict]] = {s: [] for s in splits}
    report = ExportReport()
    done: set[Path] = set()  # images written by this export (a folder reused is overwritten)
    for sample in iter_release(release):
        if sample.split not in items:
            continue
        refs = sample.record["images"] if "images" in sample.record else [sample.record["image"]]
        paths = []
        for ref, data in zip(refs, sample.images, strict=True):
            target = images_dir / f"{ref['study_id']}.png"
            if target not in done:
                target.write_bytes(frame.image_bytes(data))
                done.add(target)
            paths.append(f"images/{target.name}")
        item = make(sample.record, paths, frame)
        if item is None:
            report.skipped[sample.record["task"]] += 1
            continue
        items[sample.split].append(item)
        report.written[item.get("task", sample.record["task"])] += 1
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
                "medsg_frame": frame.describe(),  # LLaMA-Factory ignores keys it does not know
            }
            for name in report.files
        }
        (out / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
        report.files.append("dataset_info.json")
    (out / "README.md").write_text(export_readme(fmt, frame, report))
    report.files.append("README.md")
    return report


def export_readme(fmt: str, frame: Frame, report: ExportReport) -> str:
    """The export's README: its files, and the frame its boxes are written in."""
    d = frame.describe()
    lines = [
        f"# medsg export: {fmt}",
        "",
        f"Files: {', '.join(f for f in report.files if f != 'README.md')}; images under `images/`.",
        "",
        f"## Frame of the boxes (`--resize {d['rule']}`)",
        "",
        f"- Images: {d['images']}.",
        f"- Boxes: {d['boxes']}.",
    ]
    if d["rule"] == "qwen2.5-vl":
        lines.append(
            f"- Train with `image_max_pixels: {d['image_max_pixels']}` and "
            f"`image_min_pixels: {d['image_min_pixels']}` (LLaMA-Factory): another value "
            "changes the frame and the boxes no longer match the image the model sees."
        )
    if fmt == "llava":
        lines.append("- LLaVA boxes are 0-1 floats of the image: only letterboxing moves them.")
    lines += [
        "",
        "Records per task: "
        + ", ".join(f"{t} {n}" for t, n in sorted(report.written.items()))
        + ".",
    ]
    if report.skipped:
        lines.append(
            "Skipped (answer not exactly one box): "
            + ", ".join(f"{t} {n}" for t, n in sorted(report.skipped.items()))
            + "."
        )
    return "\n".join(lines) + "\n"
