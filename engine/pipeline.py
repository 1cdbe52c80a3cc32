"""The build, as plain functions: plan the sources, process items chunk by chunk (read,
findings, records, validation), then finalize (deduplicate, tables, shards, card, manifest).
No Prefect here: ``flows.build`` wraps these steps in tasks; ``run_build`` runs them inline."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import heapq
import itertools
import json
import shutil
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

import engine
from annotation.ledger import save_published
from annotation.review import METRICS_FILE, review_records
from engine.chunk_files import (
    ChunkHandle,
    SourcePaths,
    iter_rows,
    merged_stats,
    remove_other_chunks,
    write_chunk,
    write_rows,
)
from engine.config import BuildConfig
from engine.items import ITEM_TABLE_STAGES, item_table, trace_item
from engine.release_counts import GALLERY_SIZE, ReleaseCounts, StudyDigests
from engine.sorting import Rows, SortKey, sort_to_parquet, with_system_arrow_pool
from engine.stats import BuildStats
from records.sequences.across import across_sequences
from schemas.arrow import from_row
from schemas.enums import Reason, RecordFamily, Stage, Unit
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
    release_size,
    shard_order,
    size_line,
    write_image_shards,
    write_shards,
)
from sources.base import Plan, PlanContext, SourceItem, SourceSettings, quarantine_item
from sources.context import ItemContext, ItemOutput
from sources.imaging import DEFAULT_MAX_PIXELS, PNG_COMPRESS_LEVEL, PNG_STRATEGY
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
    png_level: int = PNG_COMPRESS_LEVEL
    png_strategy: str = PNG_STRATEGY

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
            png_level=cfg.png.compress_level,
            png_strategy=cfg.png.strategy,
        )


@dataclass
class ChunkResult:
    """The rows of one chunk while it is processed (and of a whole build, in memory, for
    review: ``load_built``)."""

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


def chunk_id(items: list[SourceItem], ctx: ChunkContext) -> str:
    """Same items (ids, labels, file size and time), same settings, same code: same id (the
    chunk's folder under ``_build/chunks`` and its cache key)."""
    parts = (code_version(), repr(ctx), *(i.fingerprint() for i in items))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


@with_system_arrow_pool
def process_chunk(items: list[SourceItem], ctx: ChunkContext) -> ChunkHandle:
    """Process each item of a chunk (its source's processor), validate its records, and
    write the chunk's rows as files (``engine.chunk_files``); the handle to them."""
    item_ctx = ItemContext(
        layout=BuildLayout(Path(ctx.out)),
        ids=Pseudonymizer(ctx.salt),
        split_weights=ctx.split_weights,
        image_max_side=ctx.image_max_side,
        records_seed=ctx.records_seed,
        sequences=ctx.sequences,
        chains=ctx.chains,
        image_max_pixels=ctx.image_max_pixels,
        png_level=ctx.png_level,
        png_strategy=ctx.png_strategy,
    )
    checker = ImageChecker(resolve=item_ctx.layout.image_path)
    result = ChunkResult()
    for item in items:
        _process_item(item, item_ctx, checker, result)
    by_family = {f"records_{family}": [] for family in RECORD_SCHEMAS}
    for record in result.records:
        by_family[f"records_{record.family}"].append(record)
    tables = {
        "studies": result.studies,
        "findings": result.findings,
        **by_family,
        "quarantine": result.quarantine,
        "items": result.items,
    }
    return write_chunk(
        item_ctx.layout, chunk_id(items, ctx), tables, result.stats, result.source_paths
    )


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


# The quarantine table's order: source, file, row, stage, reason, record (a stable sort).
QUARANTINE_ORDER: SortKey = (
    ("source_dataset", None),
    ("source_ref", None),
    ("row_number", 0),
    ("stage", None),
    ("reason", None),
    ("record_id", ""),
)


@dataclass(frozen=True)
class Keeper:
    """The study kept for an image whose pixels other studies repeat."""

    study_id: str
    source_dataset: str


def _digest_key(sha: str) -> bytes:
    """A hex digest as its bytes (half the memory), any other text as its UTF-8."""
    try:
        return bytes.fromhex(sha)
    except ValueError:
        return b"\0" + sha.encode()  # never equal to a hex digest's bytes of the same length


def duplicate_studies(
    studies: Iterable[tuple[str, str, str]], source_order: list[str]
) -> dict[str, Keeper]:
    """Studies whose published pixels are identical to an earlier study's (config order of
    the sources, then study id): study id -> the study kept. ``studies``: (study_id,
    source_dataset, image_sha256) of every study, streamed once. Held: the first study of
    each image (by its digest's bytes) and the studies set aside, not every study."""
    rank = {name: i for i, name in enumerate(source_order)}
    first: dict[bytes, tuple[int, str, str]] = {}  # digest -> (rank, study id, source)
    repeats: dict[bytes, list[str]] = {}  # digest -> the other studies of the image
    for study_id, source, sha in studies:
        digest = _digest_key(sha)
        entry = (rank.get(source, 0), study_id, source)
        best = first.get(digest)
        if best is None:
            first[digest] = entry
            continue
        if entry[:2] < best[:2]:
            first[digest], entry = entry, best
        repeats.setdefault(digest, []).append(entry[1])
    return {
        study_id: Keeper(first[digest][1], first[digest][2])
        for digest, others in repeats.items()
        for study_id in others
        if study_id != first[digest][1]
    }


def _image_ids(family: str) -> pl.Expr:
    """The study ids of a record's images, in order (a list column)."""
    if family == RecordFamily.SEQUENCE.value:
        return pl.col("images").list.eval(pl.element().struct.field("study_id"))
    return pl.concat_list(pl.col("image").struct.field("study_id"))


def _shows_any(family: str, study_ids: list[str]) -> pl.Expr:
    return _image_ids(family).list.eval(pl.element().is_in(study_ids)).list.any()


def duplicate_image_rows(
    records: Iterable[Record], dropped: Mapping[str, Keeper], source_paths: Mapping[str, str]
) -> list[QuarantineRow]:
    """The ``duplicate_image`` rows of records that show a dropped study (named by the first
    such image of the record)."""
    rows = []
    for record in records:
        refs = [ref.study_id for ref in record_images(record) if ref.study_id in dropped]
        if not refs:
            continue
        keeper = dropped[refs[0]]
        rows.append(
            record_quarantine_row(
                record,
                Stage.PUBLISH,
                Reason.DUPLICATE_IMAGE,
                f"the image has the same pixels as study {keeper.study_id} of "
                f"{keeper.source_dataset}, which is kept",
                source_paths.get(refs[0], ""),
                item_id=refs[0],
            )
        )
    return rows


def _rows(rows: Rows, cls: type) -> list:
    return [from_row(cls, row) for row in rows.dicts()]


def add_across_records(
    layout: BuildLayout,
    studies: Rows,
    findings: Rows,
    source_paths: Mapping[str, str],
    stats: BuildStats,
    *,
    seed: int,
) -> tuple[list[Record], list[QuarantineRow]]:
    """Sequence records across patients (concept, referring), validated like the others:
    (kept, set aside). The studies and findings are held while they are drawn."""
    shown = sorted({study_id for (study_id,) in findings.tuples("study_id")})
    built = across_sequences(  # only the studies with findings: the ones sequences may show
        _rows(studies.filter(pl.col("study_id").is_in(shown)), Study),
        _rows(findings, Finding),
        seed=seed,
    )
    kept, invalid = validate_records(
        built,
        ImageChecker(resolve=layout.image_path),
        source_ref=lambda r: source_paths.get(record_images(r)[0].study_id, ""),
    )
    stats.count("records_built", len(built))
    stats.count("records_valid", len(kept))
    return kept, invalid


def _reset(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


@with_system_arrow_pool
def finalize(
    cfg: BuildConfig, layout: BuildLayout, plan: Plan, chunks: list[ChunkHandle]
) -> BuildReport:
    """Merge the chunk files (read a file batch at a time, polars steps per batch), set
    duplicates aside, add the sequences across patients, write the tables sorted (out of
    core: ``engine.sorting``), then publish (reviews, shards, card, manifest). No step holds
    every record."""
    _reset(layout.merge)
    stats = merged_stats(chunks)  # its flow counts (publish counts the quarantine rows)
    stats.count("label_rows_read", plan.n_label_rows)
    stats.count("items_planned", len(plan.items))
    paths = SourcePaths(chunks)

    def scan_chunks(name: str, extra: tuple[Path, ...] = ()) -> Rows:
        return Rows.of([*(h.table(name) for h in chunks), *extra])

    studies, findings = scan_chunks("studies"), scan_chunks("findings")
    records = {family: scan_chunks(f"records_{family}") for family in RECORD_SCHEMAS}
    added = list(plan.quarantine)
    narrow = studies.tuples("study_id", "source_dataset", "image_sha256")
    dropped = duplicate_studies(narrow, [s.dataset for s in cfg.sources])
    if dropped:
        ids = sorted(dropped)
        studies = studies.filter(~pl.col("study_id").is_in(ids))
        findings = findings.filter(~pl.col("study_id").is_in(ids))
        for family, rows in records.items():
            hit = _shows_any(family, ids)
            dupes = _rows(rows.filter(hit), RECORD_TYPES[family])  # few: held while named
            added += duplicate_image_rows(dupes, dropped, paths)
            records[family] = rows.filter(~hit)
    if cfg.records.sequences:
        kept, invalid = add_across_records(
            layout, studies, findings, paths, stats, seed=cfg.records.seed
        )
        across = layout.merge / "records_sequence_across.parquet"
        write_rows(across, kept, RECORD_SCHEMAS[RecordFamily.SEQUENCE.value])
        records[RecordFamily.SEQUENCE.value] += Rows.of([across])
        added += invalid
    write_rows(layout.merge / "quarantine_added.parquet", added, QUARANTINE)
    quarantine = scan_chunks("quarantine", (layout.merge / "quarantine_added.parquet",))
    write_tables(layout, cfg.finalize.batch_rows, studies, findings, records, scan_chunks("items"))
    notes = list(plan.notes)
    report = publish_records(cfg, layout, stats.flow, notes, quarantine)
    remove_other_chunks(layout, [h.chunk_id for h in chunks])
    return report


def write_tables(
    layout: BuildLayout,
    batch_rows: int,
    studies: Rows,
    findings: Rows,
    records: Mapping[str, Rows],
    traces: Rows,
) -> None:
    """Studies, findings and records per family as Parquet in the build folder, sorted by
    id: the records as built and validated, before review (a sync re-applies reviews to
    them); and the chunks' item traces. The quarantine table is written when publishing
    (``publish_records``): it includes the records set aside in review."""

    def sink(rows: Rows, by: str, path: Path, schema: pa.Schema) -> None:
        key = [(by, None)] if by else []
        sort_to_parquet(rows, key, path, schema, layout.merge, batch_rows)

    sink(studies, "study_id", _table(layout, "studies"), STUDY)
    sink(findings, "finding_id", _table(layout, "findings"), FINDING)
    for family, schema in RECORD_SCHEMAS.items():
        sink(records[family], "record_id", _table(layout, f"records_{family}"), schema)
    sink(traces, "", layout.item_traces, ITEMS)


def _table(layout: BuildLayout, name: str) -> Path:
    return layout.tables / f"{name}.parquet"


def _records_in_shard_order(layout: BuildLayout, family: str, batch_rows: int) -> Iterator[Record]:
    """A family's records in ``shards.writer.shard_order`` (config, split, record id),
    read back in batches from a sorted run on disk."""
    config = (
        pl.format("sequence_{}img", pl.col("images").list.len())  # shards.writer.config_name
        if family == RecordFamily.SEQUENCE.value
        else pl.lit(family)
    )
    run = layout.merge / f"shard_order_{family}.parquet"
    sort_to_parquet(
        Rows.of([_table(layout, f"records_{family}")]).then(
            lambda lf: lf.with_columns(config.alias("_config"))
        ),
        [("_config", None), ("split", None), ("record_id", None)],
        run,
        RECORD_SCHEMAS[family].append(pa.field("_config", pa.string())),
        layout.merge,
        batch_rows,
    )
    yield from iter_rows(run, RECORD_TYPES[family], batch_rows)


def _published_streams(
    layout: BuildLayout, batch_rows: int
) -> tuple[Callable[[], Iterator[Record]], Callable[[], Iterator[Record]]]:
    """The records of the tables in record-id order and in shard order (each a fresh
    streaming pass over the tables)."""
    families = sorted(RECORD_SCHEMAS)  # config names start with the family: shard order

    def by_id() -> Iterator[Record]:
        runs = [
            iter_rows(_table(layout, f"records_{f}"), RECORD_TYPES[f], batch_rows) for f in families
        ]
        return heapq.merge(*runs, key=lambda r: r.record_id)

    def by_shard() -> Iterator[Record]:
        return itertools.chain.from_iterable(
            _records_in_shard_order(layout, f, batch_rows) for f in families
        )

    return by_id, by_shard


def load_records(layout: BuildLayout) -> list[Record]:
    """Every record of the tables, in record-id order (in memory)."""
    records: list[Record] = []
    for family in RECORD_SCHEMAS:
        records += iter_rows(_table(layout, f"records_{family}"), RECORD_TYPES[family], 4096)
    return sorted(records, key=lambda r: r.record_id)


def card_data(
    cfg: BuildConfig,
    counts: ReleaseCounts,
    layout: BuildLayout,
    shard_files,
    review: dict | None = None,
) -> CardData:
    """The card's counts: of the records (``counts``, gathered while streaming them), of
    the published studies and of the quarantine table (read a batch at a time, the
    distinct patients of each split through an on-disk sort: nothing held per study)."""
    batch_rows = cfg.finalize.batch_rows
    shards: dict[str, Counter] = {}
    for sf in shard_files:
        shards.setdefault(sf.config, Counter())[sf.split] += 1
    images_by_modality: Counter = Counter()
    licences_by_source: dict[str, str] = {}  # the licence of the source's last study
    studies = Rows.of([_table(layout, "studies")])
    columns = ("modality", "source_dataset", "licence")
    for modality, source, licence in studies.tuples(*columns, batch_rows=batch_rows):
        images_by_modality[modality] += 1
        licences_by_source[source] = licence
    reasons = Counter(
        Rows.of([layout.quarantine]).tuples(
            "source_dataset", "stage", "reason", batch_rows=batch_rows
        )
    )
    return CardData(
        name=cfg.name,
        version=cfg.version,
        code_version=code_version(),
        dataset_configs={c: dict(v) for c, v in counts.configs.items()},
        shard_counts={c: dict(v) for c, v in shards.items()},
        records_by_source_task=counts.by_source_task,
        records_by_modality=counts.by_modality,
        images_by_modality=images_by_modality,
        review_states=counts.review_states,
        licences_by_source=licences_by_source,
        quarantine_by_reason=reasons,
        patients_by_split=patients_by_split(layout, batch_rows),
        records_by_extractor=counts.by_extractor,
        config_fingerprint=cfg.fingerprint(),
        review=review,
        public_salt=cfg.privacy.public,
    )


def patients_by_split(layout: BuildLayout, batch_rows: int) -> Counter:
    """Split -> distinct patients of the published studies: (split, patient id) sorted on
    disk (``engine.sorting``), then counted in one pass."""
    run = layout.merge / "patients_by_split.parquet"
    schema = pa.schema(
        [pa.field("split", pa.string(), False), pa.field("patient_id", pa.string(), False)]
    )
    sort_to_parquet(
        Rows.of([_table(layout, "studies")]).then(lambda lf: lf.select("split", "patient_id")),
        [("split", None), ("patient_id", None)],
        run,
        schema,
        layout.merge,
        batch_rows,
    )
    patients: Counter = Counter()
    previous = None
    for pair in Rows.of([run]).tuples("split", "patient_id", batch_rows=batch_rows):
        if pair != previous:
            patients[pair[0]] += 1
            previous = pair
    run.unlink()
    return patients


def write_release_extras(layout: BuildLayout, counts: ReleaseCounts) -> bool:
    """LICENSES.md and the preview gallery, into the staging folder; True when a gallery
    was drawn."""
    (layout.staging / "LICENSES.md").write_text(
        licences_markdown(
            dict(counts.by_licence),
            {k: sorted(v) for k, v in counts.sources_by_licence.items()},
            licences(),
        )
    )
    gallery = render_gallery(
        counts.gallery, lambda sid: layout.image_path(sid).read_bytes(), n=GALLERY_SIZE
    )
    if gallery is not None:
        (layout.staging / "gallery.png").write_bytes(gallery)
    return gallery is not None


IMAGE_META_COLUMNS = ("study_id", "modality", "view", "width", "height", "image_sha256", "licence")


class ImageMetaCursor:
    """What the ``images`` config says of each published image, read from narrow columns of
    the studies table (sorted by study id) a batch at a time, for study ids asked in
    ascending order, as ``shards.writer.write_image_shards`` asks them within a split; an id
    lower than the last (the next split) starts a new pass. Held: one batch, not a row per
    published image (a dict of them grew with the corpus: issue 16)."""

    def __init__(self, studies: Path, batch_rows: int) -> None:
        self._studies, self._batch_rows = studies, batch_rows
        self._rows: Iterator[tuple] = iter(())
        self._row: tuple | None = None
        self._last: str | None = None

    def __call__(self, study_id: str) -> ImageMeta:
        if self._last is None or study_id < self._last:
            rows = Rows.of([self._studies]).tuples(*IMAGE_META_COLUMNS, batch_rows=self._batch_rows)
            self._rows, self._row = rows, next(rows, None)
        self._last = study_id
        while self._row is not None and self._row[0] < study_id:
            self._row = next(self._rows, None)
        if self._row is None or self._row[0] != study_id:
            raise KeyError(f"study {study_id} is not in {self._studies}")
        return ImageMeta.of(dict(zip(IMAGE_META_COLUMNS, self._row, strict=True)))


@with_system_arrow_pool
def publish_records(
    cfg: BuildConfig,
    layout: BuildLayout,
    flow: Counter,
    notes: list[str],
    quarantine: Rows,
) -> BuildReport:
    """Apply the expert reviews (when review is enabled), then write the quarantine table,
    the item table, shards, card and manifest. The records are the tables' (validated,
    before review); ``quarantine`` the rows set aside before review, in the order they were
    set aside; ``flow`` the build's flow counts. Without review the records stream from the
    tables in batches (``finalize.batch_rows``); with review they are held in memory."""
    batch_rows = cfg.finalize.batch_rows
    layout.merge.mkdir(parents=True, exist_ok=True)
    stats = BuildStats(flow=Counter(flow))
    # study id -> digest, read by pyarrow (two columns, a batch at a time), held in arrays
    image_sha256 = StudyDigests(
        Rows.of([_table(layout, "studies")]).tuples("study_id", "image_sha256")
    )
    reviewed = None
    if cfg.review.enabled:
        reviewed = review_records(layout, load_records(layout), cfg.privacy.resolved_salt())
        kept = sorted(reviewed.records, key=lambda r: r.record_id)
        by_id, by_shard = (lambda: iter(kept)), (lambda: iter(sorted(kept, key=shard_order)))
        review_rows = layout.merge / "quarantine_review.parquet"
        write_rows(review_rows, reviewed.set_aside, QUARANTINE)
        quarantine += Rows.of([review_rows])
    else:
        by_id, by_shard = _published_streams(layout, batch_rows)
    sort_to_parquet(
        quarantine, QUARANTINE_ORDER, layout.quarantine, QUARANTINE, layout.merge, batch_rows
    )
    # every row, review's too, counted a batch at a time
    stats.quarantine.update(
        Rows.of([layout.quarantine]).tuples("stage", "reason", batch_rows=batch_rows)
    )
    counts = ReleaseCounts(image_sha256, cfg.shards.images)
    for record in by_id():
        counts.add(record)
    traces = iter_rows(layout.item_traces, ItemStatus, batch_rows)
    named = quarantine.filter(pl.col("stage").is_in(list(ITEM_TABLE_STAGES)))
    items = item_table(traces, _rows(named, QuarantineRow), counts.shown)
    write_rows(layout.items_table, items, ITEMS)
    stats.flow["items_named"] = len(items)
    del items
    reset_staging(layout.staging)
    once = cfg.shards.images == "once"
    shard_files = write_shards(
        by_shard(),
        lambda study_id: layout.image_path(study_id).read_bytes(),
        layout.staging,
        max_size_bytes=int(cfg.shards.max_size_mb * 1024 * 1024),
        max_count=cfg.shards.max_count,
        tag=counts.tag,
        embed_images=not once,
    )
    stats.flow["records_published"] = sum(sf.n_records for sf in shard_files)
    if once:  # each image once per split, in the images config; the per-record join beside
        shard_files += write_image_shards(
            counts.image_keys(),
            lambda study_id: layout.image_path(study_id).read_bytes(),
            ImageMetaCursor(_table(layout, "studies"), batch_rows),
            layout.staging,
            max_size_bytes=int(cfg.shards.max_size_mb * 1024 * 1024),
            max_count=cfg.shards.max_count,
            tag=counts.tag,
        )
        write_loader(layout.staging)
    size = release_size(
        shard_files, counts.shown, lambda sid: layout.image_path(sid).stat().st_size
    )
    coverage = reviewed.coverage() if reviewed else None
    card = card_data(cfg, counts, layout, shard_files, coverage)
    card.licences = licences()
    card.label_methods = label_methods()
    card.shard_tag = counts.tag
    card.layout, card.release_size = cfg.shards.images, size
    if reviewed:
        (layout.staging / METRICS_FILE).write_text(
            json.dumps(reviewed.metrics, indent=1, sort_keys=True) + "\n"
        )
    card.has_gallery = write_release_extras(layout, counts)
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
    shutil.rmtree(layout.merge, ignore_errors=True)
    return report


def _built_quarantine(layout: BuildLayout) -> Rows:
    """The quarantine rows of the last build, less those of the review stage."""
    return Rows.of([layout.quarantine]).filter(pl.col("stage") != Stage.REVIEW.value)


def _previous_stats(layout: BuildLayout) -> dict:
    if not layout.stats.is_file() or not layout.quarantine.is_file():
        raise FileNotFoundError(
            f"no build in {layout.out} (missing {layout.stats} or {layout.quarantine}): "
            "run medsg build --out there first"
        )
    return json.loads(layout.stats.read_text())


def load_built(layout: BuildLayout) -> tuple[ChunkResult, list[str]]:
    """The validated records (before review), studies, findings, quarantine rows (less those
    of the review stage) and counts of the last build in ``layout``, read from its tables,
    in memory (for review: the records it pushes or projects)."""
    previous = _previous_stats(layout)

    def rows(name: str, cls: type) -> list:
        path = _table(layout, name)
        return list(iter_rows(path, cls, 4096)) if path.is_file() else []

    quarantine = _rows(_built_quarantine(layout), QuarantineRow)
    stats = BuildStats(flow=Counter(previous["stats"]["flow"]))
    stats.set_aside(quarantine)
    merged = ChunkResult(
        items=rows("item_traces", ItemStatus),
        studies=rows("studies", Study),
        findings=rows("findings", Finding),
        records=load_records(layout),
        quarantine=quarantine,
        stats=stats,
    )
    return merged, list(previous.get("notes", []))


def republish(cfg: BuildConfig, layout: BuildLayout) -> BuildReport:
    """Publish the last build in ``layout`` again, with the reviews its ledger holds now
    (streaming from its tables, as a build does)."""
    previous = _previous_stats(layout)
    _reset(layout.merge)
    base = layout.merge / "quarantine_built.parquet"
    batch_rows = cfg.finalize.batch_rows  # publish rewrites the table itself: a copy first
    sort_to_parquet(_built_quarantine(layout), [], base, QUARANTINE, layout.merge, batch_rows)
    flow = Counter(previous["stats"]["flow"])
    notes = list(previous.get("notes", []))
    return publish_records(cfg, layout, flow, notes, Rows.of([base]))


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
        handles = [process_chunk(chunk, ctx) for chunk in chunks]
        return finalize(cfg, layout, plan, handles)
