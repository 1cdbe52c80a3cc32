"""``medsg bench build``: the whole build (``engine.pipeline.run_build``, in this process) on a
generated corpus of N chest radiographs (``synthetic_cxr``) with every record family on
(grounding, chains of thought, sequences), into a temporary folder. It prints items/s (per
core: CPU seconds, and wall seconds x workers), peak RSS, release bytes against the unique
published image bytes, the time per source image by stage, the PNG-encoding floor (the time to
encode exactly the PNGs the build published, with the project's encoder) and throughput's
ratio to it, and the wall time projected for real corpus sizes on 1 and 16 workers.

Stage times (CPU seconds, so a busy machine inflates them less than wall time) come from
timers wrapped around the stage functions for the run (every module
reference to the function is swapped, then restored); time is counted once, in the innermost
stage. ``--workers W`` runs W builds of about N/W images side by side in W processes
(``run_build`` is serial), so per-core figures include contention for memory and disk; one
build runs pinned to one CPU (``benchmarks.cores``), W builds are not pinned. A
benchmark, not a test: timings are printed, never checked.
"""

from __future__ import annotations

import argparse
import functools
import io
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchmarks.cores import on_one_core

# stage -> "module:qualname" of the functions timed as that stage (a missing one is skipped,
# so the bench keeps running when code moves; its time then shows under "other")
STAGES: dict[str, tuple[str, ...]] = {
    "plan": ("engine.pipeline:plan_build",),
    "generate (synthetic source)": (
        "sources.radiograph.synthetic_cxr:render_item",
        "sources.radiograph.synthetic_cxr:generate_corpus",
    ),
    "decode": ("sources.imaging:_load_pillow", "sources.imaging:load_dicom"),
    "render/resize": (
        "sources.imaging:_render_grayscale",
        "sources.imaging:_render_colour",
        "sources.imaging:resize_max_side",
    ),
    "derived edits (diff, patch)": (
        "records.sequences.radiograph:local_edit",
        "records.sequences.radiograph:misalign",
        "records.sequences.radiograph:crop",
    ),
    "PNG encoding": ("sources.imaging:encode_png",),
    "hashing": ("sources.imaging:sha256_hex",),
    "image write": ("sources.context:ItemContext.publish_image",),
    "record building": (
        "records.grounding:build_grounding_records",
        "records.cot:lesion_cot_records",
        "sources.radiograph.process:load_organs",
        "records.sequences.radiograph:radiograph_sequences",
        "sources.radiograph.findings:findings_of",
    ),
    "validation": ("schemas.validate:validate_records",),
    "finalize (tables, shards, card)": ("engine.pipeline:finalize",),
}

# what a stage calls counts as that stage: the generated source's own PNG encoding and
# DICOM writing are the cost of generating it, not of the build
ABSORBING = frozenset({"generate (synthetic source)"})

# corpus sizes projected (radiographs: 26,684 = RSNA Pneumonia Detection, 112,120 = NIH
# ChestX-ray14; PET/CT exams: 25,578)
RADIOGRAPH_CORPORA = (26_684, 112_120)
PET_EXAMS = 25_578
PROJECTED_WORKERS = (1, 16)


class StageTimer:
    """Exclusive CPU time (this process's) per stage: a call inside another timed call
    counts only for the inner stage (unless the outer one is ``ABSORBING``)."""

    def __init__(self) -> None:
        self.seconds: Counter = Counter()
        self.calls: Counter = Counter()
        self._stack: list[list] = []  # [stage, start, child seconds]
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, stage: str, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            inside = self._stack[-1][0] if self._stack else None
            frame = [inside if inside in ABSORBING else stage, time.process_time(), 0.0]
            self._stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                self._stack.pop()
                spent = time.process_time() - frame[1]
                self.seconds[frame[0]] += spent - frame[2]
                self.calls[frame[0]] += 1
                if self._stack:
                    self._stack[-1][2] += spent

        return timed

    def install(self, stages: dict[str, tuple[str, ...]] = STAGES) -> None:
        """Swap every module-level and class reference to each stage function for its timed
        wrapper (functions imported by name into other modules included)."""
        import importlib

        targets: dict[int, tuple[str, object]] = {}
        for stage, names in stages.items():
            for name in names:
                module_name, qualname = name.split(":")
                try:
                    owner = importlib.import_module(module_name)
                    *path, attr = qualname.split(".")
                    for part in path:
                        owner = getattr(owner, part)
                    fn = getattr(owner, attr)
                except (ImportError, AttributeError):
                    continue
                if path:  # a method: patch it on its class only
                    self._swap(owner, attr, self.wrap(stage, fn))
                else:
                    targets[id(fn)] = (stage, fn)
        for module in list(sys.modules.values()):
            names = getattr(module, "__dict__", None)
            if not names or not getattr(module, "__name__", "").startswith(_PROJECT):
                continue
            for attr, value in list(names.items()):
                hit = targets.get(id(value))
                if hit is not None and hit[1] is value:
                    self._swap(module, attr, self.wrap(*hit))

    def _swap(self, owner: object, attr: str, new: object) -> None:
        self._undo.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, new)

    def uninstall(self) -> None:
        while self._undo:
            owner, attr, old = self._undo.pop()
            setattr(owner, attr, old)


_PROJECT = ("engine", "sources", "records", "schemas", "shards", "extractors", "flows")


def write_config(
    path: Path, *, n: int, size: int, seed: int, chunk_size: int, png: tuple[int, str]
) -> Path:
    text = f"""name: medsg-bench
version: 0.0.0
chunk_size: {chunk_size}
png: {{compress_level: {png[0]}, strategy: {png[1]}}}
privacy: {{salt: bench-build-public-salt}}
records: {{sequences: true, chains: true}}
sources:
  - {{kind: synthetic_cxr, n_images: {n}, seed: {seed}, image_size: {size}}}
"""
    path.write_text(text)
    return path


def _one_build(args: tuple) -> dict:
    """One timed build (in this process or a worker): counts, stage seconds, CPU seconds."""
    from engine.config import load_config
    from engine.pipeline import run_build

    folder, n, size, seed, chunk_size, png = args
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    config = root / "bench.yaml"
    write_config(config, n=n, size=size, seed=seed, chunk_size=chunk_size, png=png)
    cfg = load_config(config)
    timer = StageTimer()
    timer.install()
    cpu0, t0 = time.process_time(), time.perf_counter()
    try:
        report = run_build(cfg, root / "release")
    finally:
        timer.uninstall()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    flow = report.stats["flow"]
    return {
        "out": str(root / "release"),
        "wall": wall,
        "cpu": cpu,
        "stages": dict(timer.seconds),
        "items": int(flow.get("items_read", 0)),
        "records": int(flow.get("records_published", 0)),
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def release_bytes(out: Path) -> tuple[int, int]:
    """Bytes of the release's shard files, and of the unique PNGs under its build's images
    folder (by content)."""
    from shards.layout import BuildLayout

    shards = sum(p.stat().st_size for p in out.rglob("*.tar") if "_build" not in p.parts)
    seen: dict[str, int] = {}
    for png in BuildLayout(out).images.rglob("*.png"):
        data = png.read_bytes()
        seen.setdefault(_digest(data), len(data))
    return shards, sum(seen.values())


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def png_floor(outs: list[Path], png: tuple[int, str]) -> tuple[int, float]:
    """(images, CPU seconds) to encode the build's published PNGs again with the project's
    encoder (``sources.imaging.encode_png``) at the build's level and strategy; decoding
    them is not timed."""
    import numpy as np
    from PIL import Image

    from shards.layout import BuildLayout
    from sources.imaging import encode_png

    n, seconds = 0, 0.0
    for out in outs:
        for path in sorted(BuildLayout(out).images.rglob("*.png")):
            with Image.open(io.BytesIO(path.read_bytes())) as img:
                pixels = np.asarray(img)
            t0 = time.process_time()
            encode_png(pixels, level=png[0], strategy=png[1])
            seconds += time.process_time() - t0
            n += 1
    return n, seconds


def pet_seconds_per_exam() -> tuple[float, str]:
    """One PET exam's labelling time from ``medsg bench pet``'s speed figure (one run, in a
    child process: it pins itself to one core)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        report = pool.apply(_pet_speed)
    return report, "medsg bench pet speed (200x200x300 SUV, 5 mentions: report + localise)"


def _pet_speed() -> float:
    from benchmarks.pet import speed

    return min(speed(runs=1).with_report_seconds)


def _hms(seconds: float) -> str:
    h, rest = divmod(round(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def run(
    *,
    n: int,
    image_size: int,
    workers: int = 1,
    chunk_size: int = 16,
    seed: int = 0,
    keep: Path | None = None,
    pet_seconds: float | None = None,
    png: tuple[int, str] | None = None,
) -> list[str]:
    """Every figure of ``medsg bench build``, as printable lines."""
    from sources.imaging import PNG_COMPRESS_LEVEL, PNG_STRATEGY

    png = png or (PNG_COMPRESS_LEVEL, PNG_STRATEGY)
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="medsg-bench-build-"))
    shares = [n // workers + (1 if k < n % workers else 0) for k in range(workers)]
    jobs = [
        (str(base / f"w{k}"), share, image_size, seed + 1000 * k, chunk_size, png)
        for k, share in enumerate(shares)
        if share
    ]
    t0 = time.perf_counter()
    if len(jobs) == 1:  # (per-core figures: the build's threads share one CPU)
        with on_one_core() as core:
            results = [_one_build(jobs[0])]
    else:
        core = f"not pinned ({len(jobs)} builds in {len(jobs)} processes)"
        with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
            results = pool.map(_one_build, jobs)
    wall = time.perf_counter() - t0
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    items = sum(r["items"] for r in results)
    records = sum(r["records"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    stages: Counter = Counter()
    for r in results:
        stages.update(r["stages"])
    outs = [Path(r["out"]) for r in results]
    shard_bytes, image_bytes = (sum(v) for v in zip(*(release_bytes(o) for o in outs), strict=True))
    n_png, encode_s = png_floor(outs, png)
    per_item = max(items, 1)
    cpu_per_item = cpu / per_item
    floor_per_item = encode_s / per_item
    lines = [
        f"bench build: {items} source images of {n} at {image_size} px "
        f"(synthetic_cxr, every record family), {workers} worker(s), chunk size {chunk_size}, "
        f"PNG level {png[0]} strategy {png[1]}; {core}; "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"  records published: {records}; images published: {n_png} "
        f"({n_png / per_item:.2f} per source image)",
        f"  wall: {wall:.1f} s; CPU: {cpu:.1f} s",
        f"  items/s: {items / wall:.2f}; per core: {items / cpu:.2f} (CPU time), "
        f"{items / (wall * workers):.2f} (wall x workers)",
        f"  peak RSS: {self_rss / 1024:.0f} MB (this process), {child_rss / 1024:.0f} MB "
        f"(largest worker)",
        f"  release shards: {shard_bytes / 1e6:.1f} MB; unique published images: "
        f"{image_bytes / 1e6:.1f} MB; ratio {shard_bytes / max(image_bytes, 1):.2f}",
        "  per source image, by stage (CPU s, exclusive):",
    ]
    timed = sum(stages.values())
    total_cpu = sum(r["cpu"] for r in results)
    for stage in STAGES:
        if stage in stages:
            lines.append(
                f"    {stage:<32} {stages[stage] / per_item:8.4f} s "
                f"({100 * stages[stage] / total_cpu:4.1f}%)"
            )
    lines.append(
        f"    {'other':<32} {(total_cpu - timed) / per_item:8.4f} s "
        f"({100 * (total_cpu - timed) / total_cpu:4.1f}%)"
    )
    lines.append(
        f"  PNG-encoding floor: {encode_s:.2f} s for the {n_png} published PNGs = "
        f"{floor_per_item:.4f} s per source image ({1 / max(floor_per_item, 1e-9):.2f} "
        f"source images/s per core); throughput is {cpu_per_item / max(floor_per_item, 1e-9):.2f}"
        f"x the floor (CPU time per source image {cpu_per_item:.4f} s)"
    )
    own = sum(stages.get(s, 0.0) for s in ("plan", "generate (synthetic source)"))
    real_per_item = (cpu - own) / per_item
    lines.append(
        f"  without the generated source's own cost (plan, generation: "
        f"{own / per_item:.4f} s per image), as for a corpus on disk: "
        f"{1 / max(real_per_item, 1e-9):.2f} source images/s per core, "
        f"{real_per_item / max(floor_per_item, 1e-9):.2f}x the floor"
    )
    # projection: the per-item processing cost parallelises, plan and finalize do not
    serial = stages.get("finalize (tables, shards, card)", 0.0)
    parallel_per_item = max(total_cpu - serial - own, 0.0) / per_item
    serial_per_item = serial / per_item
    if pet_seconds is None:
        pet_seconds, pet_what = pet_seconds_per_exam()
    else:
        pet_what = "given with --pet-seconds"
    lines.append(
        f"  projected wall time for corpora on disk (processing {parallel_per_item:.4f} s "
        f"per image in parallel, finalize {serial_per_item:.4f} s per image serial; PET "
        f"{pet_seconds:.3f} s per exam, {pet_what}):"
    )
    for label, count, each, once in (
        *((f"{c:,} radiographs", c, parallel_per_item, serial_per_item)
          for c in RADIOGRAPH_CORPORA),
        (f"{PET_EXAMS:,} PET exams", PET_EXAMS, pet_seconds, 0.0),
    ):  # fmt: skip
        cells = [
            f"{w} worker{'s' if w > 1 else ''} {_hms(count * each / w + count * once)}"
            for w in PROJECTED_WORKERS
        ]
        lines.append(f"    {label:<22} " + ", ".join(cells))
    if keep:
        lines.append(f"  kept: {base}")
    else:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    return lines


def add_bench_command(bench_sub) -> None:
    """Register ``build`` under ``medsg bench``."""
    p = bench_sub.add_parser(
        "build",
        help="a whole build on N generated radiographs: items/s, RSS, bytes, stage times",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", type=int, default=40, help="generated radiographs")
    p.add_argument("--image-size", type=int, default=1024, help="their side in pixels")
    p.add_argument("--workers", type=int, default=1, help="builds side by side")
    p.add_argument("--chunk-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--png-level", type=int, default=None, help="zlib level (default: config's)")
    p.add_argument(
        "--png-strategy",
        choices=("default", "filtered", "huffman", "rle"),
        default=None,
        help="zlib strategy (default: config's)",
    )
    p.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    p.add_argument(
        "--pet-seconds",
        type=float,
        default=None,
        help="PET seconds per exam for the projection (default: measure once)",
    )
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    for line in run(
        n=args.n,
        image_size=args.image_size,
        workers=max(1, args.workers),
        chunk_size=args.chunk_size,
        seed=args.seed,
        keep=args.keep,
        pet_seconds=args.pet_seconds,
        png=_png_of(args),
    ):
        print(line, flush=True)
    return 0


def _png_of(args: argparse.Namespace) -> tuple[int, str]:
    from sources.imaging import PNG_COMPRESS_LEVEL, PNG_STRATEGY

    level = PNG_COMPRESS_LEVEL if args.png_level is None else args.png_level
    return level, args.png_strategy or PNG_STRATEGY
