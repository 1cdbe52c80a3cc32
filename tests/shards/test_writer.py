"""Shards: deterministic bytes, bounded size, atomic names, a card that Hugging Face datasets
loads offline (streaming too) with features equal to the Arrow schemas, and a manifest that
catches one flipped byte. Both layouts: ``per_record`` (records carry their images, the
bytes of releases before ``once``) and ``once`` (the ``images`` config holds each image once,
``shards.load_release`` joins them back)."""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import replace
from pathlib import Path

import datasets
import pytest

from schemas.records import ImageBox, ImageRef, SequenceRecord, record_images
from schemas.tables import RECORD_SCHEMAS
from shards.card import CardData, render_card
from shards.features import features_for, record_view_features
from shards.load_release import load_records
from shards.manifest import verify
from shards.publish import publish, reset_staging
from shards.reader import iter_release
from shards.writer import (
    IMAGES_CONFIG,
    ImageMeta,
    config_name,
    content_tag,
    image_keys,
    release_size,
    shard_order,
    write_image_shards,
    write_shards,
)
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


# The per-record shards of these records. They equalled the shards of before the images-once
# layout (56b46dea..., main at b4c650b) until the PNG encoder change re-encoded the fixture
# images (OpenCV, run-length strategy); re-pinned then.
BEFORE_ONCE = [
    "306fa54dd469c010acd1d48cd87587e284d3379b6edda0d33f7f1eb9f19f24ef",
    "c9bb5d0d617a8aee545ce6a2a6bdd3d9758490a54fd823b0a60310afff098b9f",
    "129313ad7cd15d9f68198b2c1af48b8820a9316a60fba613ce0562815a9ebbf4",
]


def test_per_record_layout_keeps_the_bytes_of_before(tmp_path: Path, image_reader) -> None:
    files = write_shards(
        records(7), image_reader, tmp_path, max_size_bytes=10**9, max_count=3, tag="t"
    )
    assert [f.path.name for f in files] == [f"grounding-train-t-0000{i}.tar" for i in range(3)]
    assert [hashlib.sha256(f.path.read_bytes()).hexdigest() for f in files] == BEFORE_ONCE
    sha = {f"study-{i}": f"{i:064x}" for i in range(3)}
    assert content_tag(records(7), sha) == content_tag(records(7), sha, "per_record")
    assert content_tag(records(7), sha) == "01ebd2337c48"
    assert content_tag(records(7), sha, "once") != "01ebd2337c48"
    with pytest.raises(ValueError, match="not one of"):
        content_tag(records(7), sha, "twice")


def shown_ids(recs) -> set[str]:
    return {ref.study_id for r in recs for ref in record_images(r)}


def _meta(study_id: str) -> ImageMeta:
    return ImageMeta(study_id, "XR", None, 64, 64, "0" * 64, "CC0-1.0")


def test_image_shards_hold_each_image_once_in_key_order(tmp_path: Path, image_reader) -> None:
    recs = records(7) + records(2, "test")  # 7 train records on 3 images, 2 test on 2
    keys = image_keys(recs)
    assert keys == [("test", "study-0"), ("test", "study-1")] + [
        ("train", f"study-{i}") for i in range(3)
    ]
    files = write_image_shards(
        keys, image_reader, _meta, tmp_path, max_size_bytes=10**9, max_count=2, tag="t"
    )
    assert [(f.config, f.split, f.n_records) for f in files] == [
        (IMAGES_CONFIG, "test", 2),
        (IMAGES_CONFIG, "train", 2),
        (IMAGES_CONFIG, "train", 1),
    ]
    assert files[0].path == tmp_path / "images/test/images-test-t-00000.tar"
    members = []
    for f in files:
        with tarfile.open(f.path) as tar:
            members += [(m.name, tar.extractfile(m).read()) for m in tar]
    names = [n for n, _ in members]
    assert names == [f"study-{i}.{ext}" for i in (0, 1) for ext in ("json", "png")] + [
        f"study-{i}.{ext}" for i in range(3) for ext in ("json", "png")
    ]
    pngs = dict((n, b) for n, b in members if n.endswith(".png"))
    assert all(pngs[f"study-{i}.png"] == image_reader(f"study-{i}") for i in range(3))
    assert json.loads(members[0][1]) == {
        "study_id": "study-0",
        "modality": "XR",
        "view": None,
        "width": 64,
        "height": 64,
        "sha256": "0" * 64,
        "licence": "CC0-1.0",
    }
    with pytest.raises(ValueError, match="study-0 \\(train\\) comes after study-1 \\(train\\)"):
        write_image_shards(
            [("train", "study-1"), ("train", "study-0")],
            image_reader,
            _meta,
            tmp_path / "b",
            max_size_bytes=10**9,
            max_count=2,
        )
    with pytest.raises(ValueError, match="comes after"):  # unique, too
        write_image_shards(
            [("train", "study-1")] * 2,
            image_reader,
            _meta,
            tmp_path / "c",
            max_size_bytes=10**9,
            max_count=2,
        )
    record_files = write_shards(
        sorted(recs, key=shard_order),
        image_reader,
        tmp_path / "r",
        max_size_bytes=10**9,
        max_count=100,
        embed_images=False,
    )
    with tarfile.open(record_files[0].path) as tar:  # the test records: JSON only
        assert [m.name for m in tar] == ["rec-0000.json", "rec-0001.json"]
    size = release_size(record_files + files, shown_ids(recs), lambda sid: len(image_reader(sid)))
    assert size["unique_images"] == 3 and size["images_by_split"] == {"test": 2, "train": 3}
    assert size["unique_image_bytes"] == sum(len(image_reader(f"study-{i}")) for i in range(3))
    assert size["shard_bytes"] == sum(f.path.stat().st_size for f in record_files + files)


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


def _release(tmp_path: Path, image_reader, recs, layout: str = "per_record") -> Path:
    out, staging = tmp_path / "release", tmp_path / "staging"
    reset_staging(staging)
    files = write_shards(
        sorted(recs, key=shard_order),
        image_reader,
        staging,
        max_size_bytes=10**9,
        max_count=100,
        embed_images=layout == "per_record",
    )
    if layout == "once":
        files += write_image_shards(
            image_keys(recs), image_reader, _meta, staging, max_size_bytes=10**9, max_count=100
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
        layout=layout,
        release_size=release_size(files, shown_ids(recs), lambda sid: len(image_reader(sid))),
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


def _pairs(rows, fields: list[str]) -> list[tuple[str, list[bytes]]]:
    """(record id, image bytes) of each row, in record-id order."""
    return sorted((row["json"]["record_id"], [row[f]["bytes"] for f in fields]) for row in rows)


def _undecoded(ds, fields: list[str]):
    for f in fields:
        ds = ds.cast_column(f, datasets.Image(decode=False))
    return ds


@pytest.mark.parametrize("streaming", [False, True])
def test_once_layout_loads_and_joins_like_per_record(
    tmp_path: Path, image_reader, streaming: bool
) -> None:
    base = records(4) + records(2, "test")
    seq = _sequence(base[0])
    recs = [*base, seq]
    embedded = _release(tmp_path / "per", image_reader, recs)
    once = _release(tmp_path / "once", image_reader, recs, "once")
    png_members = sorted(n for tar in once.rglob("*.tar") for n in _names(tar) if ".png" in n)
    # once per split: train study-0..2 (4 records and the sequence), test study-0, study-1
    assert png_members == sorted(["study-0.png", "study-1.png"] * 2 + ["study-2.png"])
    assert not list(embedded.rglob("images"))
    assert verify(once) == []
    for config, split in [
        ("grounding", "train"),
        ("grounding", "test"),
        ("sequence_3img", "train"),
    ]:
        fields = list(record_view_features(config))[:-1]
        plain = datasets.load_dataset(str(once), config, split=split, streaming=streaming)
        assert list(plain.features) == ["json"]  # the record configs hold no image
        joined = load_records(str(once), config, split, streaming=streaming)
        assert joined.features == record_view_features(config)
        want = datasets.load_dataset(str(embedded), config, split=split)
        assert _pairs(_undecoded(joined, fields), fields) == _pairs(
            _undecoded(want, fields), fields
        )
        assert [r["json"] for r in plain] == [r["json"] for r in want]
    images = datasets.load_dataset(str(once), IMAGES_CONFIG, split="train", streaming=streaming)
    assert images.features == features_for(IMAGES_CONFIG)
    rows = list(images)
    assert [r["json"]["study_id"] for r in rows] == ["study-0", "study-1", "study-2"]
    assert rows[0]["png"].size == (64, 64)
    # the reader the exports use gives the embedded layout's samples, in the same order
    assert [(s.config, s.split, s.record, s.images) for s in iter_release(once)] == [
        (s.config, s.split, s.record, s.images) for s in iter_release(embedded)
    ]


def _names(tar_path: Path) -> list[str]:
    with tarfile.open(tar_path) as tar:
        return tar.getnames()


def _sequence(base) -> SequenceRecord:
    return SequenceRecord(
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


def test_sequence_configs_have_one_image_column_per_image(tmp_path: Path, image_reader) -> None:
    seq = _sequence(records(1)[0])
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
