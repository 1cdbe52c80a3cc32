"""The ``build-medsg`` Prefect flow: plan the sources, fan chunks out on the configured task
runner, finalize the release, and report counts as artifacts. Every step's logic lives in
``engine.pipeline``; this module only wires, caches, retries and reports."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import CacheKeyFnPolicy
from prefect.futures import as_completed

from annotation.ledger import ledger_digest
from annotation.push import PushReport
from engine.chunk_files import ChunkHandle, chunk_on_disk
from engine.config import BuildConfig, load_config
from engine.pipeline import (
    BuildReport,
    ChunkContext,
    chunk_id,
    chunk_items,
    code_version,
    finalize,
    locked_output,
    plan_build,
    prepare_output,
    process_chunk,
)
from engine.review import check_review_setup, push_build
from engine.stats import FLOW
from flows.runners import task_runner_for
from shards.layout import BuildLayout
from shards.manifest import verify
from sources.base import Plan, SourceItem

DEFAULT_OUT = "out/demo"


def _retry_on_io_error(task_, task_run, state) -> bool:
    """Retry only what retrying can fix: OS-level I/O errors (network filesystems, busy disks)."""
    try:
        state.result(raise_on_failure=True)
    except OSError:
        return True
    except Exception:
        return False
    return False


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def chunk_cache_key(_context: Any, parameters: dict[str, Any]) -> str:
    """Same items (ids, labels, file size and time), same settings, same code: the chunk's
    persisted result (a ``ChunkHandle``: its files' folder and counts) is reused, unless its
    files or images are gone (``engine.chunk_files.chunk_on_disk``)."""
    items: list[SourceItem] = parameters["items"]
    ctx: ChunkContext = parameters["ctx"]
    return "chunk-" + chunk_id(items, ctx)


def finalize_cache_key(_context: Any, parameters: dict[str, Any]) -> str:
    """Same plan, chunk inputs, config and code: nothing to publish again (unless the
    release on disk no longer matches its manifest: see ``release_intact``)."""
    cfg: BuildConfig = parameters["cfg"]
    layout: BuildLayout = parameters["layout"]
    reviews = ledger_digest(layout) if cfg.review.enabled else ""
    return "finalize-" + _digest(
        code_version(),
        cfg.fingerprint(),
        reviews,
        repr(parameters["plan"]),
        *parameters["chunk_keys"],
    )


def release_intact(layout: BuildLayout) -> bool:
    """The release matches its manifest (sizes) and the build tables exist."""
    return not verify(layout.out, full=False) and layout.quarantine.is_file()


@task(name="plan-sources", retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_on_io_error)
def plan_sources(cfg: BuildConfig, layout: BuildLayout) -> Plan:
    return plan_build(cfg, layout)


@task(
    name="process-chunk",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_on_io_error,
    persist_result=True,
    cache_policy=CacheKeyFnPolicy(cache_key_fn=chunk_cache_key),
)
def process_chunk_task(items: list[SourceItem], ctx: ChunkContext) -> ChunkHandle:
    """The chunk's rows go to files under ``_build/chunks`` (written by whichever worker
    runs it, on the build folder's storage); only the small handle comes back."""
    return process_chunk(items, ctx)


@task(
    name="publish-release",
    retries=1,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_on_io_error,
    persist_result=True,
    cache_policy=CacheKeyFnPolicy(cache_key_fn=finalize_cache_key),
)
def publish_release(
    cfg: BuildConfig,
    layout: BuildLayout,
    plan: Plan,
    chunks: list[ChunkHandle],
    chunk_keys: list[str],
) -> BuildReport:
    return finalize(cfg, layout, plan, chunks)


@task(name="push-for-review")
def push_for_review_task(cfg: BuildConfig, layout: BuildLayout) -> PushReport:
    """Not cached and not retried by Prefect: the push reconciles with the server (a rerun
    writes only what differs) and its client retries with backoff itself."""
    return push_build(cfg, layout)


def _push_artifact(push: PushReport, url: str) -> None:
    create_table_artifact(
        key="build-medsg-review-push",
        table=[
            {"what": k, "count": getattr(push, k)}
            for k in (
                "selected",
                "low_confidence",
                "audit",
                "created",
                "updated",
                "unchanged",
                "duplicates",
                "reviews_kept_from_changed_tasks",
            )
        ],
        description=f"Records sent to expert review in Label Studio ({url}): "
        + ", ".join(f"{t} (project {i})" for t, i in push.projects.items()),
    )


def _report_artifacts(report: BuildReport, cached: dict[str, int]) -> None:
    create_table_artifact(
        key="build-medsg-counts",
        table=[
            {"step": name, "count": report.stats["flow"][name], "what": what}
            for name, what in FLOW.items()
        ],
        description="Items, findings and records through each step of build-medsg",
    )
    quarantine = [
        {"stage": stage, "reason": reason, "rows": n}
        for stage, reasons in report.stats["quarantine"].items()
        for reason, n in reasons.items()
    ]
    create_table_artifact(
        key="build-medsg-quarantine",
        table=quarantine or [{"stage": "-", "reason": "-", "rows": 0}],
        description="Quarantine rows by stage and reason code",
    )
    configs = "\n".join(
        f"| {c} | {s} | {n} |" for c, splits in report.configs.items() for s, n in splits.items()
    )
    create_markdown_artifact(
        key="build-medsg-release",
        markdown=(
            f"# build-medsg release\n\nFolder: `{report.out}`  \n"
            f"Dataset version: `{report.dataset_version}`  \n"
            f"Chunks reused from cache: {cached['hit']} of {cached['total']}\n\n"
            f"| config | split | records |\n|---|---|---|\n{configs}\n"
        ),
        description="Where the release is and what it holds",
    )


@flow(name="build-medsg", log_prints=False)
def build_medsg(config: str | None = None, out: str = DEFAULT_OUT) -> dict[str, Any]:
    """Build the dataset described by ``config`` (a YAML path; None: the embedded demo) into
    the release folder ``out``. Returns the build report (counts, dataset version)."""
    logger = get_run_logger()
    cfg = load_config(config)
    cfg.privacy.resolved_salt()  # no salt: stop before any work
    check_review_setup(cfg, BuildLayout(Path(out).resolve()))  # review on: before any work
    with locked_output(out, "medsg build (flow build-medsg)") as (_, lock_notes):
        for note in lock_notes:
            logger.warning(note)
        return _build_locked(cfg, prepare_output(cfg, out))


def _build_locked(cfg: BuildConfig, layout: BuildLayout) -> dict[str, Any]:
    """The flow's body, with the release folder locked."""
    logger = get_run_logger()
    logger.info("build %s %s into %s (code %s)", cfg.name, cfg.version, layout.out, code_version())

    plan = plan_sources(cfg, layout)
    for note in plan.notes:
        logger.warning(note)
    chunks = chunk_items(plan.items, cfg.chunk_size)
    ctx = ChunkContext.of(cfg, layout)
    chunk_task = process_chunk_task.with_options(
        cache_policy=CacheKeyFnPolicy(cache_key_fn=chunk_cache_key).configure(
            key_storage=layout.cache
        )
    )
    logger.info("%d items in %d chunks on %s", len(plan.items), len(chunks), cfg.runner.kind)
    progress = create_progress_artifact(
        progress=0.0, description=f"build-medsg: chunks of {cfg.name} processed"
    )
    cached = {"hit": 0, "total": len(chunks)}
    results: list[ChunkHandle | None] = [None] * len(chunks)
    ids = [chunk_id(c, ctx) for c in chunks]
    chunk_keys = ["chunk-" + i for i in ids]
    with task_runner_for(cfg.runner) as runner:
        futures = {
            runner.submit(
                chunk_task.with_options(refresh_cache=not chunk_on_disk(layout, cid)),
                parameters={"items": c, "ctx": ctx},
            ): i
            for i, (c, cid) in enumerate(zip(chunks, ids, strict=True))
        }
        done_items = 0
        for n_done, future in enumerate(as_completed(list(futures)), start=1):
            index = futures[future]
            results[index] = future.result()
            done_items += len(chunks[index])
            if future.state.name == "Cached":
                cached["hit"] += 1
            update_progress_artifact(progress, progress=100.0 * n_done / len(chunks))
            logger.info(
                "chunk %d/%d done (%d/%d items, %s)",
                n_done,
                len(chunks),
                done_items,
                len(plan.items),
                future.state.name,
            )
    if not chunks:
        update_progress_artifact(progress, progress=100.0)

    publish = publish_release.with_options(
        cache_policy=CacheKeyFnPolicy(cache_key_fn=finalize_cache_key).configure(
            key_storage=layout.cache
        ),
        refresh_cache=not release_intact(layout),
    )
    report = publish(cfg, layout, plan, [r for r in results if r is not None], chunk_keys)
    _report_artifacts(report, cached)
    for line in report.summary_lines():
        logger.info(line)
    logger.info("chunks reused from cache: %d of %d", cached["hit"], cached["total"])
    result = {**report.__dict__, "chunks_cached": cached["hit"], "chunks_total": cached["total"]}
    if cfg.review.enabled:
        push = push_for_review_task(cfg, layout)
        _push_artifact(push, cfg.review.url)
        logger.info(
            "review: %d records selected, %d tasks created, %d updated, %d unchanged",
            push.selected,
            push.created,
            push.updated,
            push.unchanged,
        )
        result["review_push"] = push.__dict__
    return result
