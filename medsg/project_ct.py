"""``medsg project-ct``: one CT to radiographs with dense anatomy, on disk.

Writes into ``--out``: ``frontal.png`` and ``lateral.png``; ``anatomy.json``
(``{view: {structure: {"box": [x1, y1, x2, y2], "area": n}}}`` in pixels, x2/y2 exclusive);
``masks/<view>/<structure>.png`` (255 inside); ``preview.png`` (both views, boxes drawn and
named); ``meta.json`` (sizes, pixel size, orientation of the input, taxonomy version,
structures absent); with ``--report``, ``findings.json`` (the report's mentions, each with its
boxes on both views). No header value of the input is written."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from extractors.ct.anatomy import build_structures
from extractors.ct.projection import VIEWS, CtProjection, ProjectionSettings, project
from extractors.ct.render import mask_image, preview
from extractors.ct.taxonomy import STRUCTURES, TAXONOMY_VERSION
from extractors.ct.totalseg import MasksUnavailable, TotalSegSettings, segment
from extractors.volume import read_ct
from schemas.enums import Reason
from schemas.errors import ItemError
from sources.ct.masks import load_masks
from sources.imaging import encode_png


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def project_ct(
    ct_path: Path,
    out: Path,
    *,
    masks_path: Path | None = None,
    report_path: Path | None = None,
    settings: ProjectionSettings | None = None,
    totalseg: TotalSegSettings | None = None,
) -> CtProjection:
    """Load, segment (or read masks), project, and write every output file."""
    settings = settings or ProjectionSettings()
    ct = read_ct(ct_path)
    if masks_path is not None:
        masks = load_masks(masks_path, ct)
    else:
        try:
            masks = segment(ct, totalseg or TotalSegSettings(), ct_path.name)
        except MasksUnavailable as exc:
            raise ItemError(Reason.MASKS_UNAVAILABLE, str(exc)) from None
    structures = build_structures(masks, ct.spacing)
    projection = project(ct, structures, settings)
    out.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        img = projection.views[view]
        (out / f"{view}.png").write_bytes(encode_png(img.pixels))
        folder = out / "masks" / view
        folder.mkdir(parents=True, exist_ok=True)
        for sid, mask in projection.masks[view].items():
            dense = mask.dense((img.height, img.width))
            (folder / f"{sid}.png").write_bytes(encode_png(mask_image(dense)))
    _write_json(out / "anatomy.json", projection.boxes())
    preview(projection).save(out / "preview.png", format="PNG", compress_level=6)
    projected = {sid for per_view in projection.masks.values() for sid in per_view}
    _write_json(
        out / "meta.json",
        {
            "taxonomy_version": TAXONOMY_VERSION,
            "input_orientation": "".join(ct.reorientation.source_axcodes),
            "input_kind": ct.kind,
            "voxel_spacing_mm": [round(s, 4) for s in ct.spacing],
            "pixel_mm": settings.pixel_mm,
            "views": {
                v: {"width": projection.views[v].width, "height": projection.views[v].height}
                for v in VIEWS
            },
            "convention": "radiological: head up; frontal: patient's right on the image's left; "
            "lateral: anterior on the image's left",
            "structures_absent": sorted(s.id for s in STRUCTURES if s.id not in projected),
            "mask_classes_empty": sorted(masks.empty),
        },
    )
    if report_path is not None:
        from extractors.reports import extract_findings

        mentions = extract_findings(report_path.read_text(encoding="utf-8", errors="replace"))
        boxes = projection.boxes()
        _write_json(
            out / "findings.json",
            [
                {
                    **{
                        k: getattr(m, k)
                        for k in (
                            "finding",
                            "text",
                            "anatomy",
                            "laterality",
                            "negated",
                            "uncertain",
                            "start",
                            "end",
                            "sentence",
                            "section",
                        )
                    },
                    "boxes": {v: boxes[v].get(m.anatomy, {}).get("box") for v in VIEWS}
                    if m.anatomy
                    else None,
                }
                for m in mentions
            ],
        )
    return projection


def _run(args: argparse.Namespace) -> int:
    totalseg = TotalSegSettings(
        Path(args.totalseg_weights) if args.totalseg_weights else None,
        fast=args.totalseg_fast,
        device=args.device,
    )
    try:
        projection = project_ct(
            Path(args.ct),
            Path(args.out),
            masks_path=Path(args.masks) if args.masks else None,
            report_path=Path(args.report) if args.report else None,
            settings=ProjectionSettings(pixel_mm=args.pixel_mm),
            totalseg=totalseg,
        )
    except ItemError as exc:
        print(f"medsg project-ct: {exc.reason}: {exc.message}", file=sys.stderr)
        return 2
    for view in VIEWS:
        img = projection.views[view]
        print(f"{view}: {img.width}x{img.height} px, {len(projection.masks[view])} structures")
    print(f"written to {args.out}: frontal.png, lateral.png, anatomy.json, masks/, preview.png")
    return 0


def add_command(sub) -> None:
    """Register ``project-ct`` on the ``medsg`` sub-command parser."""
    p = sub.add_parser("project-ct", help="project a CT to radiographs with anatomy masks")
    p.add_argument("--ct", required=True, help="a NIfTI file or a DICOM series folder")
    p.add_argument(
        "--masks", help="multilabel NIfTI (TotalSegmentator ids) or folder of <class>.nii.gz"
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--report", help="a report text file: its findings grounded through anatomy")
    p.add_argument("--pixel-mm", type=float, default=1.0, help="pixel size of the images (mm)")
    p.add_argument("--totalseg-weights", help="TotalSegmentator weights folder (no --masks)")
    p.add_argument("--totalseg-fast", action="store_true", help="TotalSegmentator's 3 mm model")
    p.add_argument("--device", default="cpu", help="TotalSegmentator device: cpu, gpu, gpu:N")
    p.set_defaults(func=_run)
