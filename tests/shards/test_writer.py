"""Shards: deterministic bytes, bounded size, atomic names, a card that Hugging Face datasets
loads offline (streaming too) with features equal to the Arrow schemas, and a manifest that
catches one flipped byte."""

from __future__ import annotations

import tarfile
from dataclasses import replace
from pathlib import Path

import datasets
import pytest

from schemas.records import ImageBox, ImageRef, SequenceRecord
from schemas.tables import RECORD_SCHEMAS
from shards.card import CardData, render_card
from shards.features import features_for
from shards.manifest import verify
from shards.publish import publish, reset_staging
from shards.writer import config_name, shard_order, write_shards
from tests.helpers import gradient_png
from tests.schemas.test_arrow import grounding_record


def records(n: int, split: str = "train") -> list:
    return [
        grounding_record(
            record_id=f"rec-{i:04d}", image=ImageRef(f"study-{i % 3}", 64, 64, "XR"), split=split
        )
        for i in range(n)
    ]


@pytest.fixture
def image_reader(tmp_path: Path):
    for i in range(3):
        gradient_png(tmp_path / "img" / f"study-{i}.png", 64, seed=i)
    return lambda study_id: (tmp_path / "img" / f"{study_id}.png").read_bytes()


def test_same_records_same_bytes_once_sorted(tmp_path: Path, image_reader) -> None:
    recs = records(7)
    a = write_shards(recs, image_reader, tmp_path / "a", max_size_bytes=10**9, max_count=3)
    b = write_shards(
        sorted(reversed(recs), key=shard_order),
        image_reader,
        tmp_path / "b",
        max_size_bytes=10**9,
        max_count=3,
    )
    assert [s.n_records for s in a] == [3, 3, 1]
    for sa, sb in zip(a, b, strict=True):
        assert sa.path.read_bytes() == sb.path.read_bytes()
    with pytest.raises(ValueError, match="rec-0005 comes after rec-0006"):
        write_shards(
            list(reversed(recs)), image_reader, tmp_path / "c", max_size_bytes=10**9, max_count=3
        )
    with tarfile.open(a[0].path) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [
            "rec-0000.json",
            "rec-0000.png",
            "rec-0001.json",
            "rec-0001.png",
            "rec-0002.json",
            "rec-0002.png",
        ]
        assert {(m.mtime, m.uname, m.gname) for m in members} == {(0, "", "")}
    assert not list((tmp_path / "a").rglob("*.partial"))


def test_size_bound(tmp_path: Path, image_reader) -> None:
    one = len(image_reader("study-0"))
    shards = write_shards(
        records(10), image_reader, tmp_path, max_size_bytes=one * 2, max_count=1000
    )
    assert len(shards) >= 4
    assert all(s.path.stat().st_size < one * 4 + 20_000 for s in shards)


def test_crash_leaves_only_partial_names(tmp_path: Path, image_reader) -> None:
    def failing(study_id: str) -> bytes:
        if study_id == "study-2":
            raise OSError("disk gone")
        return image_reader(study_id)

    with pytest.raises(OSError):
        write_shards(records(6), failing, tmp_path, max_size_bytes=10**9, max_count=100)
    assert list(tmp_path.rglob("*.tar")) == []
    assert len(list(tmp_path.rglob("*.tar.partial"))) == 1


def _release(tmp_path: Path, image_reader, recs) -> Path:
    out, staging = tmp_path / "release", tmp_path / "staging"
    reset_staging(staging)
    files = write_shards(
        sorted(recs, key=shard_order), image_reader, staging, max_size_bytes=10**9, max_count=100
    )
    configs: dict = {}
    for r in recs:
        configs.setdefault(config_name(r), {}).setdefault(r.split, 0)
        configs[config_name(r)][r.split] += 1
    card = CardData(
        "t",
        "1",
        "0+x",
        configs,
        {f.config: {f.split: 1} for f in files},
        licences_by_source={"ds": "CC0-1.0"},
    )
    publish(
        staging, out, card=render_card(card), name="t", config_version="1", trash=tmp_path / "trash"
    )
    return out


def test_load_dataset_offline_and_streaming_with_declared_features(
    tmp_path: Path, image_reader
) -> None:
    recs = records(4) + records(2, "test")
    recs[1] = replace(recs[1], label=None, answer_boxes=[])  # nulls and empty lists too
    recs[-1] = replace(recs[-1], record_id="rec-9999")
    out = _release(tmp_path, image_reader, recs)
    ds = datasets.load_dataset(str(out), "grounding", split="train")
    assert ds.num_rows == 4
    assert ds.features == features_for("grounding")
    assert datasets.Features.from_arrow_schema(RECORD_SCHEMAS["grounding"]) == ds.features["json"]
    row = ds[0]
    assert row["png"].size == (64, 64) and row["json"]["record_id"] == "rec-0000"
    assert row["json"]["answer_boxes"][0]["x1"] == pytest.approx(0.1)
    streamed = list(datasets.load_dataset(str(out), "grounding", split="test", streaming=True))
    assert [r["json"]["record_id"] for r in streamed] == ["rec-0000", "rec-9999"]
    wds = datasets.load_dataset(
        "webdataset", data_files={"train": str(out / "grounding/train/*.tar")}, split="train"
    )
    assert wds.num_rows == 4


def test_sequence_configs_have_one_image_column_per_image(tmp_path: Path, image_reader) -> None:
    base = records(1)[0]
    seq = SequenceRecord(
        record_id="rec-seq",
        task="referring",
        patient_ids=["patient-1"],
        images=[
            ImageRef("study-0", 64, 64, "XR"),
            ImageRef("study-1", 64, 64, "XR"),
            ImageRef("study-2", 64, 64, "XR"),
        ],
        question="Which image shows the nodule?",
        answer="The second image.",
        question_boxes=[],
        answer_boxes=[ImageBox(1, 0.1, 0.1, 0.2, 0.2, "nodule")],
        template_id="t",
        split="train",
        provenance=base.provenance,
    )
    assert config_name(seq) == "sequence_3img"
    out = _release(tmp_path, image_reader, [seq])
    ds = datasets.load_dataset(str(out), "sequence_3img", split="train")
    assert set(ds.features) == {"img0.png", "img1.png", "img2.png", "json"}
    assert ds[0]["json"]["answer_boxes"][0]["image_index"] == 1


def test_manifest_catches_a_flipped_byte_and_names_the_file(tmp_path: Path, image_reader) -> None:
    out = _release(tmp_path, image_reader, records(5))
    assert verify(out) == []
    shard = next(out.rglob("*.tar"))
    data = bytearray(shard.read_bytes())
    data[700] ^= 0x01
    shard.write_bytes(bytes(data))
    (problem,) = verify(out)
    assert problem.path == shard.relative_to(out).as_posix() and "sha256" in problem.problem


def test_republish_replaces_old_configs(tmp_path: Path, image_reader) -> None:
    out = _release(tmp_path, image_reader, records(3) + records(2, "validation"))
    assert (out / "grounding" / "validation").is_dir()
    (out / "_build").mkdir(exist_ok=True)  # publish keeps its journal there
    (out / "_build" / "keep.txt").write_text("private")
    out = _release(tmp_path, image_reader, records(3))
    assert not (out / "grounding" / "validation").exists()
    assert (out / "_build" / "keep.txt").read_text() == "private"
    assert verify(out) == []
