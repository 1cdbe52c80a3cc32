"""``medsg bench volume``: one segmentation volume through the volume sources' processor
(``sources.volume``): a 256 x 256 x 128 MR-like phantom with 10 labelled ellipsoids, written
as an nnU-Net case (NIfTI image + label map), planned, read, sliced in three planes and turned
into every record (grounding, presence negatives, counting, the MedSG volume tasks), with
images written as PNGs, on one core (the process is pinned to one CPU); best of
``--repeats``. Timings are printed, never pass/fail tests."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.cores import pin_one_core


def write_phantom(root: Path, shape: tuple[int, int, int], n_labels: int, seed: int = 0) -> None:
    """An nnU-Net v2 folder with one case: a noisy MR-like volume with ``n_labels`` ellipsoids
    (label values 1..n) and its dataset.json."""
    import json

    import nibabel as nib

    rng = np.random.default_rng(seed)
    grid = np.indices(shape, dtype=np.float32)
    image = rng.normal(100.0, 8.0, shape).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    for value in range(1, n_labels + 1):
        centre = [rng.uniform(0.2, 0.8) * n for n in shape]
        radii = [rng.uniform(0.05, 0.12) * n for n in shape]
        inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)) <= 1
        labels[inside] = value
        image[inside] += 40.0 + 10.0 * value
    affine = np.diag([-1.0, -1.0, 1.5, 1.0])
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    nib.save(nib.Nifti1Image(image, affine), str(root / "imagesTr" / "case_0000.nii.gz"))
    nib.save(nib.Nifti1Image(labels, affine), str(root / "labelsTr" / "case.nii.gz"))
    meta = {
        "channel_names": {"0": "T1"},
        "labels": {"background": 0, **{f"structure {v}": v for v in range(1, n_labels + 1)}},
        "file_ending": ".nii.gz",
    }
    (root / "dataset.json").write_text(json.dumps(meta))


def bench_volume(shape=(256, 256, 128), n_labels: int = 10, repeats: int = 3) -> dict:
    from schemas.identity import Pseudonymizer
    from shards.layout import BuildLayout
    from sources.base import PlanContext
    from sources.context import ItemContext
    from sources.volume.files import process_files
    from sources.volume.nnunet import Settings, plan

    core = pin_one_core()
    best = {"t_plan": 1e9, "t_process": 1e9, "t_total": 1e9}
    counts: Counter = Counter()
    n_images = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "Dataset900_Bench"
        write_phantom(root, shape, n_labels)
        ids = Pseudonymizer("bench-volume")
        for k in range(repeats):
            ctx = ItemContext(
                layout=BuildLayout(Path(tmp) / f"out{k}"),
                ids=ids,
                split_weights=(80, 10, 10),
                image_max_side=None,
                records_seed=0,
            )
            t0 = time.perf_counter()
            planned = plan(
                Settings(kind="nnunet", root=root, modality="mri"),
                PlanContext(ids, Path(tmp) / "gen"),
            )
            t1 = time.perf_counter()
            output = process_files(planned.items[0], ctx)
            t2 = time.perf_counter()
            for key, value in (("t_plan", t1 - t0), ("t_process", t2 - t1), ("t_total", t2 - t0)):
                best[key] = min(best[key], value)
            assert not output.quarantine, output.quarantine
            counts = Counter(getattr(r, "task", "?") for r in output.records)
            n_images = len(output.studies)
    return {
        "shape": shape,
        "labels": n_labels,
        "core": core,
        "tasks": counts,
        "images": n_images,
        **best,
    }


def _run(args: argparse.Namespace) -> int:
    r = bench_volume(tuple(args.shape), args.labels, args.repeats)
    shape = "x".join(str(n) for n in r["shape"])
    print(
        f"volume {shape}, {r['labels']} labels: {sum(r['tasks'].values())} records "
        f"({', '.join(f'{t} {n}' for t, n in sorted(r['tasks'].items()))}) on "
        f"{r['images']} published images; {r['core']}"
    )
    print(
        f"best of {args.repeats}: plan {r['t_plan']:.3f} s + read, slice and build all "
        f"records {r['t_process']:.3f} s = {r['t_total']:.3f} s per case"
    )
    return 0


def add_bench_command(bench_sub) -> None:
    """Register ``volume`` under ``medsg bench``."""
    p = bench_sub.add_parser(
        "volume", help="segmentation volume to all records (256x256x128, 10 labels, one core)"
    )
    p.add_argument("--shape", type=int, nargs=3, default=[256, 256, 128])
    p.add_argument("--labels", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.set_defaults(func=_run)
