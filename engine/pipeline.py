"""The build, as plain functions: plan the sources, process items chunk by chunk (read,
findings, records, validation), then finalize (deduplicate, tables, shards, card, manifest).
No Prefect here: ``flows.build`` wraps these steps in tasks; ``run_build`` runs them inline."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import engine
from annotation.ledger import save_published
from annotation.review import METRICS_FILE, review_records
from engine.config import BuildConfig
from engine.items import item_table, trace_item
from engine.stats import BuildStats
from records.sequences.across import across_sequences
from schemas.arrow import from_row, to_row
from schemas.enums import Reason, Stage, Unit
from schemas.identity import Pseudonymizer
from schemas.records import (
    RECORD_TYPES,
    Finding,
    ItemStatus,
    QuarantineRow,
    Record,
    Study,
    record_images,
    record_quarantine_row,
)
from schemas.tables import FINDING, ITEMS, QUARANTINE, RECORD_SCHEMAS, STUDY
from schemas.validate import ImageChecker, validate_records
from shards.card import CardData, render_card
from shards.croissant import write_croissant
from shards.gallery import render_gallery
from shards.layout import REPO_ROOT, BuildLayout
from shards.licences import licences_markdown
from shards.load_release import write_loader
from shards.lock import release_lock
from shards.publish import check_output_folder, check_release, publish, recover, reset_staging
from shards.writer import (
    ImageMeta,
    config_name,
    content_tag,
    image_keys,
    release_size,
    shard_order,
    size_line,
    write_image_shards,
    write_shards,
)
from sources.base import Plan, PlanContext, SourceItem, SourceSettings, quarantine_item
from sources.context import ItemContext, ItemOutput
from sources.imaging import DEFAULT_MAX_PIXELS
from sources.radiograph.csv_labels import SourceError
from sources.registry import label_methods, licences, source_for

_CODE_PACKAGES = (
    "medsg",
    "engine",
    "flows",
    "extractors",
    "schemas",
    "annotation",
    "shards",
    "sources",
    "records",
)


@functools.cache
def code_version() -> str:
    """``<package version>+<hash of the project's Python sources>``: any code change
    invalidates caches and shows in the card."""
    digest = hashlib.sha256()
    for package in _CODE_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{engine.__version__}+{digest.hexdigest()[:10]}"


# ---- plan -------------------------------------------------------------------------------


def plan_build(cfg: BuildConfig, layout: BuildLayout) -> Plan:
    """Every configured source's plan, in config order."""
    ids = Pseudonymizer(cfg.privacy.resolved_salt())
    plan = Plan()
    for settings in cfg.sources:
        plan.extend(plan_source(settings, ids, layout.generated))
    return plan


def plan_source(settings: SourceSettings, ids: Pseudonymizer, generated: Path) -> Plan:
    """The plan of one configured source. An optional source whose root is absent gives an
    empty plan with a note; a required one raises SourceError naming the folder."""
    root = getattr(settings, "root", None)
    if root is not None and not Path(root).is_dir():
        if getattr(settings, "optional", False):
            return Plan(
                notes=[f"{settings.dataset}: skipped, optional source folder {root} is absent"]
            )
        raise SourceError(f"source {settings.dataset!r}: folder not found: {root}")
    source = source_for(settings.kind)
    return source.plan(settings, PlanContext(ids, generated / settings.dataset))


def chunk_items(items: list[SourceItem], size: int) -> list[list[SourceItem]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---- per chunk --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkContext:
    """What a chunk needs besides its items (small and picklable, for any task runner)."""

    out: str
    salt: str
    split_weights: tuple[int, int, int]
    image_max_side: int | None
    records_seed: int
    sequences: bool = True
    chains: bool = True
    image_max_pixels: int = DEFAULT_MAX_PIXELS

    @classmethod
    def of(cls, cfg: BuildConfig, layout: BuildLayout) -> ChunkContext:
        return cls(
            out=str(layout.out),
            salt=cfg.privacy.resolved_salt(),
            split_weights=cfg.split.weights,
            image_max_side=cfg.image_max_side,
            records_seed=cfg.records.seed,
            sequences=cfg.records.sequences,
            chains=cfg.records.chains,
            image_max_pixels=cfg.image_max_pixels,
        )


@dataclass
class ChunkResult:
    studies: list[Study] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    source_paths: dict[str, str] = field(default_factory=dict)  # study id -> input file
    stats: BuildStats = field(default_factory=BuildStats)
    items: list[ItemStatus] = field(default_factory=list)  # one per processed input

    def set_aside(self, rows: list[QuarantineRow]) -> None:
        self.quarantine.extend(rows)
        self.stats.set_aside(rows)

    def merge(self, other: ChunkResult) -> None:
        self.studies += other.studies
        self.findings += other.findings
        self.records += other.records
        self.quarantine += other.quarantine
        self.source_paths.update(other.source_paths)
        self.stats.merge(other.stats)
        self.items += other.items


def process_chunk(items: list[SourceItem], ctx: ChunkContext) -> ChunkResult:
    """Process each item of a chunk (its source's processor), then validate its records."""
    item_ctx = ItemContext(
        layout=BuildLayout(Path(ctx.out)),
        ids=Pseudonymizer(ctx.salt),
        split_weights=ctx.split_weights,
        image_max_side=ctx.image_max_side,
        records_seed=ctx.records_seed,
        sequences=ctx.sequences,
        chains=ctx.chains,
        image_max_pixels=ctx.image_max_pixels,
    )
    checker = ImageChecker(resolve=item_ctx.layout.image_path)
    result = ChunkResult()
    for item in items:
        _process_item(item, item_ctx, checker, result)
    return result


def _process_item(
    item: SourceItem, ctx: ItemContext, checker: ImageChecker, result: ChunkResult
) -> None:
    output = _run_processor(item, ctx)
    rows = _accept_item(item, ctx, checker, result, output)
    result.items.append(trace_item(item, ctx, output, rows))


def _accept_item(
    item: SourceItem,
    ctx: ItemContext,
    checker: ImageChecker,
    result: ChunkResult,
    output: ItemOutput,
) -> list[QuarantineRow]:
    """Count an item's output, validate its records, keep what passes; the item's
    quarantine rows are returned (for its status row)."""
    set_aside = list(output.quarantine)
    result.set_aside(output.quarantine)
    if not output.studies:
        return set_aside  # the processor set the item aside (read error)
    result.stats.count("items_read")
    result.studies += output.studies
    result.source_paths.update((s.study_id, item.path) for s in output.studies)
    result.findings += output.findings
    result.stats.count("findings", len(output.findings))
    if not output.records:
        if not any(q.unit == Unit.ITEM for q in output.quarantine):
            row = quarantine_item(
                item.dataset,
                Reason.NO_USABLE_LABELS,
                f"{Path(item.path).name}: no label of this item is usable",
                item.path,
                stage=Stage.RECORDS,
                item_id=output.studies[0].study_id,
            )
            result.set_aside([row])
            set_aside.append(row)
        return set_aside
    result.stats.count("studies_with_records")
    result.stats.count("records_built", len(output.records))
    kept, invalid = validate_records(output.records, checker, source_ref=lambda _r: item.path)
    result.records += kept
    result.stats.count("records_valid", len(kept))
    result.set_aside(invalid)
    return set_aside + invalid


def _run_processor(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """The item's Source processes it. An unexpected exception becomes one quarantine row
    (``processor_error``; the traceback goes to a private log) and the chunk goes on; an
    OSError propagates, so that the chunk task's retry can cover a flaky disk."""
    try:
        return source_for(item.kind).process(item, ctx)
    except OSError:
        raise
    except Exception as exc:
        log = ctx.layout.processor_log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as f:
            f.write(f"--- {item.dataset} {item.path}\n{traceback.format_exc()}\n")
        return ItemOutput(
            quarantine=[
                quarantine_item(
                    item.dataset,
                    Reason.PROCESSOR_ERROR,
                    f"{Path(item.path).name}: {type(exc).__name__}: {exc}",
                    item.path,
                    stage=Stage.READ,
                    item_id=ctx.ids.study(item.dataset, item.item_id),
                )
            ]
        )


# ---- finalize ---------------------------------------------------------------------------


@dataclass
class BuildReport:
    """What a build produced: counts, where the release is, and its manifest version."""

    out: str
    dataset_version: str
    stats: dict
    configs: dict[str, dict[str, int]]
    notes: list[str]
    review: dict | None = None  # review coverage when review is enabled
    release_size: dict | None = None  # shards.writer.release_size

    def summary_lines(self) -> list[str]:
        flow = self.stats["flow"]
        lines = [f"release: {self.out} (dataset version {self.dataset_version})"]
        lines += [f"  {name}: {n}" for name, n in flow.items()]
        for config, splits in sorted(self.configs.items()):
            lines.append(f"  config {config}: " + ", ".join(f"{s} {n}" for s, n in splits.items()))
        for stage, reasons in self.stats["quarantine"].items():
            lines.append(
                f"  quarantined at {stage}: " + ", ".join(f"{r} {n}" for r, n in reasons.items())
            )
        if self.review:
            lines.append(
                "  review: {reviewed_published} of {published} published records reviewed, "
                "{rejected} rejected".format(**self.review)
            )
        if self.release_size:
            lines.append(f"  release size: {size_line(self.release_size)}")
        lines += [f"  note: {n}" for n in self.notes]
        return lines


def merge_results(results: list[ChunkResult]) -> ChunkResult:
    merged = ChunkResult()
    for r in results:
        merged.merge(r)
    return merged


def drop_duplicate_images(merged: ChunkResult, source_order: list[str]) -> None:
    """Studies whose published pixels are identical to an earlier study's (config order of
    the sources, then study id) are set aside with their records."""
    rank = {name: i for i, name in enumerate(source_order)}
    first: dict[str, Study] = {}
    dropped: dict[str, Study] = {}
    for study in sorted(merged.studies, key=lambda s: (rank.get(s.source_dataset, 0), s.study_id)):
        keeper = first.setdefault(study.image_sha256, study)
        if keeper is not study:
            dropped[study.study_id] = keeper
    if not dropped:
        return
    kept_records, rows = [], []
    for record in merged.records:
        refs = [ref.study_id for ref in record_images(record) if ref.study_id in dropped]
        if not refs:
            kept_records.append(record)
            continue
        keeper = dropped[refs[0]]
        rows.append(
            record_quarantine_row(
                record,
                Stage.PUBLISH,
                Reason.DUPLICATE_IMAGE,
                f"the image has the same pixels as study {keeper.study_id} of "
                f"{keeper.source_dataset}, which is kept",
                merged.source_paths.get(refs[0], ""),
                item_id=refs[0],
            )
        )
    merged.records = kept_records
    merged.studies = [s for s in merged.studies if s.study_id not in dropped]
    merged.findings = [f for f in merged.findings if f.study_id not in dropped]
    merged.set_aside(rows)


def _write_table(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def write_tables(layout: BuildLayout, merged: ChunkResult) -> None:
    """Studies, findings and records per family as Parquet in the build folder: the records
    as built and validated, before review (a sync re-applies reviews to them). The
    quarantine table is written when publishing (``publish_records``): it includes the
    records set aside in review."""
    _write_table(
        layout.tables / "studies.parquet",
        [to_row(s) for s in sorted(merged.studies, key=lambda s: s.study_id)],
        STUDY,
    )
    _write_table(
        layout.tables / "findings.parquet",
        [to_row(f) for f in sorted(merged.findings, key=lambda f: f.finding_id)],
        FINDING,
    )
    for family, schema in RECORD_SCHEMAS.items():
        rows = [to_row(r) for r in merged.records if r.family == family]
        _write_table(layout.tables / f"records_{family}.parquet", rows, schema)
    _write_table(layout.item_traces, [to_row(i) for i in merged.items], ITEMS)


def sort_quarantine(rows: list[QuarantineRow]) -> list[QuarantineRow]:
    return sorted(
        rows,
        key=lambda q: (
            q.source_dataset,
            q.source_ref,
            q.row_number or 0,
            q.stage,
            q.reason,
            q.record_id or "",
        ),
    )


def card_data(
    cfg: BuildConfig, merged: ChunkResult, shard_files, review: dict | None = None
) -> CardData:
    configs: dict[str, Counter] = {}
    for r in merged.records:
        configs.setdefault(config_name(r), Counter())[r.split] += 1
    shards: dict[str, Counter] = {}
    for sf in shard_files:
        shards.setdefault(sf.config, Counter())[sf.split] += 1
    patients: dict[str, set[str]] = {}
    for s in merged.studies:
        patients.setdefault(s.split, set()).add(s.patient_id)
    return CardData(
        name=cfg.name,
        version=cfg.version,
        code_version=code_version(),
        dataset_configs={c: dict(v) for c, v in configs.items()},
        shard_counts={c: dict(v) for c, v in shards.items()},
        records_by_source_task=Counter(
            (r.provenance.source_dataset, r.family, r.task) for r in merged.records
        ),
        records_by_modality=Counter(
            (record_images(r)[0].modality, r.family) for r in merged.records
        ),
        images_by_modality=Counter(s.modality for s in merged.studies),
        review_states=Counter(r.provenance.review_state for r in merged.records),
        licences_by_source={s.source_dataset: s.licence for s in merged.studies},
        quarantine_by_reason=Counter(
            (q.source_dataset, q.stage, q.reason) for q in merged.quarantine
        ),
        patients_by_split=Counter({k: len(v) for k, v in patients.items()}),
        records_by_extractor=Counter(
            (r.provenance.extractor, r.provenance.extractor_version) for r in merged.records
        ),
        config_fingerprint=cfg.fingerprint(),
        review=review,
        public_salt=cfg.privacy.public,
    )


def add_across_records(layout: BuildLayout, merged: ChunkResult, *, seed: int) -> None:
    """Sequence records across patients (concept, referring), validated like the others."""
    built = across_sequences(merged.studies, merged.findings, seed=seed)
    kept, invalid = validate_records(
        built,
        ImageChecker(resolve=layout.image_path),
        source_ref=lambda r: merged.source_paths.get(record_images(r)[0].study_id, ""),
    )
    merged.stats.count("records_built", len(built))
    merged.stats.count("records_valid", len(kept))
    merged.records += kept
    merged.set_aside(invalid)


def write_release_extras(layout: BuildLayout, merged: ChunkResult) -> bool:
    """LICENSES.md and the preview gallery, into the staging folder; True when a gallery
    was drawn."""
    by_licence = Counter(r.provenance.licence for r in merged.records)
    sources: dict[str, set[str]] = {}
    for r in merged.records:
        sources.setdefault(r.provenance.licence, set()).add(r.provenance.source_dataset)
    (layout.staging / "LICENSES.md").write_text(
        licences_markdown(dict(by_licence), {k: sorted(v) for k, v in sources.items()}, licences())
    )
    gallery = render_gallery(merged.records, lambda sid: layout.image_path(sid).read_bytes())
    if gallery is not None:
        (layout.staging / "gallery.png").write_bytes(gallery)
    return gallery is not None


def finalize(
    cfg: BuildConfig, layout: BuildLayout, plan: Plan, results: list[ChunkResult]
) -> BuildReport:
    """Merge chunk results, set duplicates aside, write tables, then publish (reviews,
    shards, card, manifest)."""
    merged = merge_results(results)
    merged.set_aside(plan.quarantine)
    merged.stats.count("label_rows_read", plan.n_label_rows)
    merged.stats.count("items_planned", len(plan.items))
    drop_duplicate_images(merged, [s.dataset for s in cfg.sources])
    if cfg.records.sequences:
        add_across_records(layout, merged, seed=cfg.records.seed)
    merged.records.sort(key=lambda r: r.record_id)
    write_tables(layout, merged)
    return publish_records(cfg, layout, merged, list(plan.notes))


def publish_records(
    cfg: BuildConfig, layout: BuildLayout, merged: ChunkResult, notes: list[str]
) -> BuildReport:
    """Apply the expert reviews (when review is enabled), then write the quarantine table,
    shards, card and manifest. ``merged`` holds the validated records before review."""
    records, quarantine, stats = merged.records, list(merged.quarantine), merged.stats
    reviewed = None
    if cfg.review.enabled:
        reviewed = review_records(layout, merged.records, cfg.privacy.resolved_salt())
        records = reviewed.records
        quarantine += reviewed.set_aside
        stats = BuildStats(flow=Counter(stats.flow), quarantine=Counter(stats.quarantine))
        stats.set_aside(reviewed.set_aside)
    _write_table(layout.quarantine, [to_row(q) for q in sort_quarantine(quarantine)], QUARANTINE)
    items = item_table(merged.items, quarantine, records)
    _write_table(layout.items_table, [to_row(i) for i in items], ITEMS)
    stats.flow["items_named"] = len(items)
    reset_staging(layout.staging)
    once = cfg.shards.images == "once"
    tag = content_tag(
        records, {s.study_id: s.image_sha256 for s in merged.studies}, cfg.shards.images
    )
    shard_files = write_shards(
        sorted(records, key=shard_order),
        lambda study_id: layout.image_path(study_id).read_bytes(),
        layout.staging,
        max_size_bytes=int(cfg.shards.max_size_mb * 1024 * 1024),
        max_count=cfg.shards.max_count,
        tag=tag,
        embed_images=not once,
    )
    stats.flow["records_published"] = sum(sf.n_records for sf in shard_files)
    if once:  # each image once per split, in the images config; the per-record join beside
        by_id = {s.study_id: s for s in merged.studies}
        shard_files += write_image_shards(
            image_keys(records),
            lambda study_id: layout.image_path(study_id).read_bytes(),
            lambda study_id: ImageMeta.of(by_id[study_id]),
            layout.staging,
            max_size_bytes=int(cfg.shards.max_size_mb * 1024 * 1024),
            max_count=cfg.shards.max_count,
            tag=tag,
        )
        write_loader(layout.staging)
    size = release_size(shard_files, records, lambda sid: layout.image_path(sid).stat().st_size)
    published = ChunkResult(
        studies=merged.studies, findings=merged.findings, records=records, quarantine=quarantine
    )
    coverage = reviewed.coverage() if reviewed else None
    card = card_data(cfg, published, shard_files, coverage)
    card.licences = licences()
    card.label_methods = label_methods()
    card.shard_tag = tag
    card.layout, card.release_size = cfg.shards.images, size
    if reviewed:
        (layout.staging / METRICS_FILE).write_text(
            json.dumps(reviewed.metrics, indent=1, sort_keys=True) + "\n"
        )
    card.has_gallery = write_release_extras(layout, published)
    write_croissant(layout.staging, card)  # croissant.json + croissant/<config>.jsonl
    manifest = publish(
        layout.staging,
        layout.out,
        card=render_card(card),
        name=cfg.name,
        config_version=cfg.version,
        trash=layout.build / "trash",
    )
    if reviewed:
        save_published(
            layout,
            {"ledger": reviewed.ledger_digest, "dataset_version": manifest["dataset_version"]},
        )
    report = BuildReport(
        out=str(layout.out),
        dataset_version=manifest["dataset_version"],
        stats=stats.as_dict(),
        configs={c: dict(sorted(v.items())) for c, v in card.dataset_configs.items()},
        notes=notes,
        review=coverage,
        release_size=size,
    )
    layout.stats.write_text(json.dumps(report.__dict__, indent=1, sort_keys=True) + "\n")
    return report


def load_built(layout: BuildLayout) -> tuple[ChunkResult, list[str]]:
    """The validated records (before review), studies, findings, quarantine rows (less those
    of the review stage) and counts of the last build in ``layout``, read from its tables:
    what ``publish_records`` needs to publish again without rebuilding."""
    if not layout.stats.is_file() or not layout.quarantine.is_file():
        raise FileNotFoundError(
            f"no build in {layout.out} (missing {layout.stats} or {layout.quarantine}): "
            "run medsg build --out there first"
        )
    previous = json.loads(layout.stats.read_text())

    def rows(name: str) -> list[dict]:
        path = layout.tables / f"{name}.parquet"
        return pq.read_table(path).to_pylist() if path.is_file() else []

    records: list[Record] = []
    for family in RECORD_SCHEMAS:
        records += [from_row(RECORD_TYPES[family], r) for r in rows(f"records_{family}")]
    quarantine = [
        q
        for q in (from_row(QuarantineRow, r) for r in rows("quarantine"))
        if q.stage != Stage.REVIEW.value
    ]
    stats = BuildStats(flow=Counter(previous["stats"]["flow"]))
    stats.set_aside(quarantine)
    merged = ChunkResult(
        items=[from_row(ItemStatus, r) for r in rows("item_traces")],
        studies=[from_row(Study, r) for r in rows("studies")],
        findings=[from_row(Finding, r) for r in rows("findings")],
        records=sorted(records, key=lambda r: r.record_id),
        quarantine=quarantine,
        stats=stats,
    )
    return merged, list(previous.get("notes", []))


def republish(cfg: BuildConfig, layout: BuildLayout) -> BuildReport:
    """Publish the last build in ``layout`` again, with the reviews its ledger holds now."""
    merged, notes = load_built(layout)
    return publish_records(cfg, layout, merged, notes)


@contextlib.contextmanager
def locked_output(out: str | Path, command: str) -> Iterator[tuple[BuildLayout, list[str]]]:
    """Hold the lock of release folder ``out`` for the block, after checking it is this
    tool's (``shards.publish.check_output_folder``: nothing is written into a user's folder)
    and finishing or undoing a publish a crash interrupted. Yields the layout and notes (a
    stale lock taken over, a publish recovered). ``OutputFolderError``, ``LockedError``:
    refused."""
    layout = BuildLayout(Path(out).resolve())
    check_output_folder(layout.out)
    notes: list[str] = []
    with release_lock(layout.out, command, notes):
        recovered = recover(layout.out, layout.build / "trash")
        if recovered:
            notes.append(recovered)
        check_release(layout.out)
        yield layout, notes


def prepare_output(cfg: BuildConfig, out: str | Path) -> BuildLayout:
    """The build layout for ``out``, with the resolved config saved in it (call it with the
    folder locked: ``locked_output``)."""
    layout = BuildLayout(Path(out).resolve())
    check_output_folder(layout.out)
    layout.build.mkdir(parents=True, exist_ok=True)
    layout.resolved_config.write_text(cfg.to_yaml())
    return layout


def run_build(cfg: BuildConfig, out: str | Path) -> BuildReport:
    """The whole build in this process, without Prefect (tests, debugging); the release
    folder is locked throughout. Stops before any work without a salt."""
    cfg.privacy.resolved_salt()
    with locked_output(out, "medsg build --no-prefect") as (_, lock_notes):
        layout = prepare_output(cfg, out)
        plan = plan_build(cfg, layout)
        plan.notes[:0] = lock_notes
        ctx = ChunkContext.of(cfg, layout)
        chunks = chunk_items(plan.items, cfg.chunk_size)
        results = [process_chunk(chunk, ctx) for chunk in chunks]
        return finalize(cfg, layout, plan, results)
