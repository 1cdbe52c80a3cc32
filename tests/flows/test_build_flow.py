"""The build-medsg flow: an unchanged rerun does no work and gives identical ids and bytes
(a chunk whose files or images are gone runs again); a 2-worker Dask LocalCluster (chunk
files written by other processes) gives the same manifest; bad inputs do not stop the run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers import gradient_png, nih_dataset, phi, rsna_dataset, write_config

pytestmark = pytest.mark.prefect


def shard_digests(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*.tar"))
        if "_build" not in p.parts
    }


def record_ids(out: Path) -> list[str]:
    tables = sorted((out / "_build" / "tables").glob("records_*.parquet"))
    return [rid for t in tables for rid in pq.read_table(t).column("record_id").to_pylist()]


def shows_image(chunk: Path, study_id: str) -> bool:
    return study_id in pq.read_table(chunk / "studies.parquet").column("study_id").to_pylist()


@pytest.fixture(scope="module")
def synthetic_config(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("cfg")
    return write_config(
        base / "synthetic.yaml",
        [{"kind": "synthetic_cxr", "n_images": 12, "seed": 5, "image_size": 128}],
    )


def test_rerun_is_cached_and_byte_identical(
    prefect_server, synthetic_config: Path, tmp_path: Path
) -> None:
    from flows.build import build_medsg

    out = tmp_path / "out"
    first = build_medsg(config=str(synthetic_config), out=str(out))
    digests, ids, manifest = (
        shard_digests(out),
        record_ids(out),
        (out / "manifest.json").read_bytes(),
    )
    assert first["chunks_cached"] == 0 and first["chunks_total"] == 3
    assert len(ids) == len(set(ids)) == first["stats"]["flow"]["records_published"] > 0

    second = build_medsg(config=str(synthetic_config), out=str(out))
    assert second["chunks_cached"] == second["chunks_total"] == 3
    assert shard_digests(out) == digests and record_ids(out) == ids
    assert (out / "manifest.json").read_bytes() == manifest
    assert second["dataset_version"] == first["dataset_version"]

    # an image removed from the build state is rendered again, and so is a chunk whose
    # files are gone (another chunk); the bytes still match
    image = next((out / "_build" / "images").rglob("*.png"))
    image.unlink()
    chunks = sorted((out / "_build" / "chunks").iterdir())
    assert len(chunks) == 3
    other = next(c for c in chunks if not shows_image(c, image.stem))
    (other / "findings.parquet").unlink()
    third = build_medsg(config=str(synthetic_config), out=str(out))
    assert third["chunks_cached"] == 1 and shard_digests(out) == digests
    assert (out / "manifest.json").read_bytes() == manifest

    # a fresh folder gives the same bytes too (nothing depends on time or place)
    other = build_medsg(config=str(synthetic_config), out=str(tmp_path / "other"))
    assert shard_digests(tmp_path / "other") == digests
    assert other["dataset_version"] == first["dataset_version"]
    assert (tmp_path / "other" / "manifest.json").read_bytes() == manifest


def test_dask_local_cluster_gives_the_same_shards(
    prefect_server, synthetic_config: Path, tmp_path: Path
) -> None:
    from flows.build import build_medsg

    threads = build_medsg(config=str(synthetic_config), out=str(tmp_path / "threads"))
    dask_cfg = write_config(
        tmp_path / "dask.yaml",
        [{"kind": "synthetic_cxr", "n_images": 12, "seed": 5, "image_size": 128}],
        runner={"kind": "dask", "dask_n_workers": 2},
    )
    dask = build_medsg(config=str(dask_cfg), out=str(tmp_path / "dask"))
    assert shard_digests(tmp_path / "dask") == shard_digests(tmp_path / "threads") != {}
    manifest = (tmp_path / "threads" / "manifest.json").read_bytes()
    assert (tmp_path / "dask" / "manifest.json").read_bytes() == manifest
    assert dask["dataset_version"] == threads["dataset_version"]
    assert record_ids(tmp_path / "dask") == record_ids(tmp_path / "threads")


def test_all_bad_inputs_together_the_run_completes(prefect_server, tmp_path: Path) -> None:
    from flows.build import build_medsg

    nih = nih_dataset(
        tmp_path / "nih",
        [
            ("00000001_000.png", "Nodule", 5, 5, 10, 10),
            ("00000001_000.png", "Mass", 50, 50, 30, 30),
            ("00000003_000.png", "Nodule", 1, 1, 5, 5),
            ("00000004_000.png", "Mass", 1, 1, 5, 5),
        ],
        ["00000001_000.png"],
    )
    gradient_png(nih / "images" / "dup" / "00000001_000.png", seed=4)
    (nih / "images" / "00000003_000.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    rsna = rsna_dataset(
        tmp_path / "rsna",
        [["p1", "1", "1", "5", "5", "1"], ["p9", "", "", "", "", "0"]],
        {"p1": phi(1), "p9": phi(9)},
    )
    data = (rsna / "images" / "p9.dcm").read_bytes()
    (rsna / "images" / "p9.dcm").write_bytes(data[: len(data) // 3])
    cfg = write_config(
        tmp_path / "c.yaml",
        [
            {"kind": "nih_cxr14", "root": str(nih), "labels_csv": "BBox_List_2017.csv"},
            {"kind": "rsna_pneumonia", "root": str(rsna), "labels_csv": "labels.csv"},
        ],
        records={"sequences": False},  # grounding records only: the counts below are exact
    )
    result = build_medsg(config=str(cfg), out=str(tmp_path / "out"))
    reasons = {r for stage in result["stats"]["quarantine"].values() for r in stage}
    assert reasons == {
        "duplicate_image_id",
        "file_missing",
        "image_decode_error",
        "box_out_of_bounds",
        "dicom_pixel_error",
    }
    # 00000001 nodule: where, presence, referring; p1 box: the same and a count (RSNA)
    assert result["stats"]["flow"]["records_published"] == 3 + 4
    stats = json.loads((tmp_path / "out" / "_build" / "stats.json").read_text())
    assert stats["stats"]["quarantine_rows"] == 5
