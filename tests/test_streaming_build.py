"""The streaming finalize (chunk results as Parquet files, one streaming pass per shard
publish): the release bytes are those of the in-memory finalize it replaced, whatever the
batch size; a build killed during its shard publish leaves the previous release intact."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import engine.pipeline as pipeline
from engine.config import load_config
from engine.pipeline import run_build
from shards.manifest import verify
from tests.helpers import write_config

REPO = Path(__file__).resolve().parent.parent

# sha256 of manifest.json (it lists the sha256 of every shard, the card and the extras) of
# the config below, with the code version pinned to "0+test". The streaming finalize gave
# the in-memory finalize's bytes (0231897b..., main at b4c650b, per-record layout, Pillow
# PNGs); this pin is the same build after the PNG encoder (OpenCV, run-length strategy) and
# the images-once layout changed the bytes on purpose (3e014e85...), then the generated corpus
# (synthetic_cxr 4: a stream per image, new pixels and boxes): any other change must not.
REFERENCE_MANIFEST_SHA256 = "ded5c4ea0ad3acbe9e29b6598bbf7181330c32f7aa98f5259afea2ba00dbd41a"


def duplicate_sources_config(path: Path, **extra) -> Path:
    """Two synthetic corpora with the same seed: every image of ``copy`` has the pixels of
    one of ``first`` (its records become duplicate_image rows); small shards, small chunks."""
    corpus = {"kind": "synthetic_cxr", "n_images": 10, "seed": 5, "image_size": 96}
    return write_config(
        path,
        [{**corpus, "name": "first"}, {**corpus, "name": "copy"}],
        shards={"max_count": 7},
        **extra,
    )


@pytest.fixture
def pinned_code_version(monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "code_version", lambda: "0+test")


def manifest_sha256(out: Path) -> str:
    return hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()


def test_release_bytes_are_those_of_the_in_memory_finalize(
    pinned_code_version, tmp_path: Path
) -> None:
    cfg = load_config(duplicate_sources_config(tmp_path / "c.yaml"))
    report = run_build(cfg, tmp_path / "out")
    assert report.stats["quarantine"]["publish"]["duplicate_image"] > 0
    assert verify(tmp_path / "out") == []
    assert manifest_sha256(tmp_path / "out") == REFERENCE_MANIFEST_SHA256
    tables = tmp_path / "out" / "_build" / "tables"
    rows = pq.read_table(tables / "quarantine.parquet").to_pylist()
    # every record of ``copy`` (the corpus's records: 105 before synthetic_cxr 4)
    assert len(rows) == report.stats["quarantine"]["publish"]["duplicate_image"] == 137
    order = [(r["source_dataset"], r["source_ref"], r["record_id"]) for r in rows]
    assert order == sorted(order) and {r["source_dataset"] for r in rows} == {"copy"}
    for family in ("grounding", "cot", "sequence"):
        ids = pq.read_table(tables / f"records_{family}.parquet").column("record_id").to_pylist()
        assert ids == sorted(ids) and len(ids) == len(set(ids)) > 0
    items = pq.read_table(tables / "items.parquet").to_pylist()
    assert len(items) == 20 and {i["status"] for i in items} == {"published", "quarantined"}


def test_batch_size_changes_nothing_in_the_release(pinned_code_version, tmp_path: Path) -> None:
    """Batches of 3 rows (every table and shard stream crosses many batch borders)."""
    cfg = load_config(duplicate_sources_config(tmp_path / "c.yaml", finalize={"batch_rows": 3}))
    assert cfg.finalize.batch_rows == 3
    run_build(cfg, tmp_path / "out")
    assert manifest_sha256(tmp_path / "out") == REFERENCE_MANIFEST_SHA256


def test_chunk_files_and_handles(tmp_path: Path) -> None:
    """Each chunk's rows are Parquet files in its own folder; the counts of its handle are
    the rows of its files."""
    from engine.chunk_files import CHUNK_TABLES
    from engine.pipeline import ChunkContext, chunk_items, plan_build, prepare_output
    from engine.pipeline import process_chunk as process

    cfg = load_config(duplicate_sources_config(tmp_path / "c.yaml"))
    layout = prepare_output(cfg, tmp_path / "out")
    plan = plan_build(cfg, layout)
    ctx = ChunkContext.of(cfg, layout)
    handles = [process(chunk, ctx) for chunk in chunk_items(plan.items, cfg.chunk_size)]
    assert len(handles) == 5 == len({h.chunk_id for h in handles})  # 20 items, 4 a chunk
    for h in handles:
        assert Path(h.folder) == layout.chunks / h.chunk_id
        assert {n: pq.read_metadata(h.table(n)).num_rows for n in CHUNK_TABLES} == h.counts
        assert h.counts["items"] == 4 and h.stats.flow["items_read"] == 4
    again = process(chunk_items(plan.items, cfg.chunk_size)[0], ctx)
    assert again.chunk_id == handles[0].chunk_id and again.counts == handles[0].counts
    assert not list(layout.chunks.glob(".*.tmp"))  # no temporary folder left


PAUSED_BUILD = """
import sys, time
from pathlib import Path
import engine.pipeline as pipeline
from engine.config import load_config

write_shards = pipeline.write_shards

def paused_write_shards(records, *args, **kwargs):  # pauses inside the streaming publish
    def stream():
        for n, record in enumerate(records, start=1):
            if n == 5:  # shards of 3: the first is complete, the second is being written
                Path(sys.argv[3]).write_text("paused")
                time.sleep(120)
            yield record
    return write_shards(stream(), *args, **kwargs)

pipeline.write_shards = paused_write_shards
pipeline.run_build(load_config(sys.argv[1]), sys.argv[2])
"""


def test_kill_during_shard_publish_keeps_the_previous_release(tmp_path: Path) -> None:
    """A build killed (SIGKILL) while it streams shards leaves the previous release as it
    was (it verifies, same manifest); a rerun completes and verifies."""
    out = tmp_path / "out"
    corpus = {"kind": "synthetic_cxr", "n_images": 6, "image_size": 96}
    old = load_config(write_config(tmp_path / "old.yaml", [{**corpus, "seed": 1}]))
    run_build(old, out)
    before = (out / "manifest.json").read_bytes()
    new_cfg = write_config(tmp_path / "new.yaml", [{**corpus, "seed": 2}], shards={"max_count": 3})
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_BUILD, str(new_cfg), str(out), str(marker)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.is_file():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the build never reached its shard publish"
            time.sleep(0.1)
        staging = out / "_build" / "staging"
        assert list(staging.rglob("*.tar")) and list(staging.rglob("*.tar.partial"))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert (out / "manifest.json").read_bytes() == before
    assert verify(out) == []

    report = run_build(load_config(new_cfg), out)
    assert verify(out) == []
    assert (out / "manifest.json").read_bytes() != before
    assert any("stale lock" in note for note in report.notes)
    fresh = run_build(load_config(new_cfg), tmp_path / "fresh")
    assert fresh.dataset_version == report.dataset_version
    assert json.loads((out / "manifest.json").read_text())["dataset_version"] == (
        report.dataset_version
    )


def test_release_counts_give_the_writers_tag_and_the_gallerys_picks() -> None:
    """One streaming pass gives ``content_tag``'s hash and a set of candidates from which
    ``pick_records`` picks what it picks from all records."""
    import dataclasses

    from engine.release_counts import GALLERY_SIZE, ReleaseCounts
    from schemas.records import ImageRef
    from shards.gallery import pick_records
    from shards.writer import content_tag, image_keys
    from tests.annotation.records import grounding, sequence

    records = [
        dataclasses.replace(
            grounding(f"rec-{i:03d}", task=("a", "b", "c")[i % 3], source=f"s{i % 4}"),
            image=ImageRef(f"study-{i % 7}", 200, 100, ("XR", "CT")[i // 30]),
        )
        for i in range(40)
    ] + [sequence("rec-z")]
    sha = {f"study-{i}": f"{i:064x}" for i in range(7)}
    counts = ReleaseCounts(sha)
    for record in records:
        counts.add(record)
    assert counts.tag == content_tag(reversed(records), sha)
    assert len(counts.gallery) < len(records)
    assert pick_records(counts.gallery, GALLERY_SIZE) == pick_records(records, GALLERY_SIZE)
    assert counts.shown == {
        "study-0": 6,
        "study-1": 7,  # and the sequence's two images
        "study-2": 7,
        "study-3": 6,
        "study-4": 6,
        "study-5": 5,
        "study-6": 5,
    }
    assert list(counts.image_keys()) == image_keys(records)
    with pytest.raises(ValueError, match="out of record-id order"):
        counts.add(records[0])


def test_study_digests_are_a_sorted_mapping_of_the_pairs() -> None:
    """``StudyDigests`` holds what a dict of the pairs holds (the last digest of a study
    given twice), iterates in study-id order, and gives each study's row."""
    from engine.release_counts import ShownCounts, StudyDigests

    pairs = [(f"study-{i % 5000:05d}", f"{i:064x}") for i in reversed(range(9000))]
    digests = StudyDigests(iter(pairs))
    assert dict(digests) == dict(pairs)
    assert list(digests) == sorted(dict(pairs))
    assert digests.position("study-00003") == 3
    assert digests.study_id(4999) == "study-04999"
    with pytest.raises(KeyError):
        digests.position("study-5")
    assert len(StudyDigests([])) == 0
    shown = ShownCounts(digests)
    shown.add([3, 3, 7])
    assert shown == {"study-00003": 2, "study-00007": 1}
    assert shown.get("study-00004", 0) == 0 and shown.get("other", 0) == 0


def test_parquet_batches_and_the_system_arrow_pool(tmp_path: Path) -> None:
    """Batches of at most ``batch_rows`` rows, in file order, across row groups; the pool
    is the system allocator inside ``system_arrow_pool`` and the previous one after."""
    import pyarrow as pa

    from engine.sorting import parquet_batches, system_arrow_pool

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": list(range(10))}), path, row_group_size=4)
    batches = list(parquet_batches(path, 3))
    assert all(0 < b.num_rows <= 3 for b in batches)
    assert [v for b in batches for v in b.column(0).to_pylist()] == list(range(10))
    before = pa.default_memory_pool().backend_name
    with system_arrow_pool():
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before
