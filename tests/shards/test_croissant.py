"""croissant.json in every release: ``mlcroissant validate`` accepts it, and one record of
every record set, read through mlcroissant from the release on disk, equals the row that
``datasets.load_dataset`` gives for the same key (JSON fields and image pixels; the records'
images joined from the ``images`` config, as ``shards.load_release`` joins them)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset

from engine.config import load_config
from engine.pipeline import run_build
from shards.croissant import CROISSANT, index_path
from shards.features import family_and_images, features_for
from shards.load_release import load_records
from shards.manifest import file_sha256
from shards.writer import IMAGES_CONFIG
from tests.helpers import write_config

# mlcroissant reads its cache folder from the environment when first imported
_CACHE_ENV = "CROISSANT_CACHE"


def _build(base: Path) -> Path:
    cfg = write_config(
        base / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 10, "seed": 4, "image_size": 96}]
    )
    run_build(load_config(cfg), base / "release")
    return base / "release"


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    os.environ.setdefault(_CACHE_ENV, str(tmp_path_factory.mktemp("croissant-cache")))
    return _build(tmp_path_factory.mktemp("croissant"))


def _mlcroissant_cli() -> str:
    return str(Path(sys.executable).parent / "mlcroissant")


def test_mlcroissant_validate_accepts_it(release: Path) -> None:
    doc = json.loads((release / CROISSANT).read_text())
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    done = subprocess.run(
        [_mlcroissant_cli(), "validate", "--jsonld", str(release / CROISSANT)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "error" not in log.lower(), log
    for key in (
        "rai:dataCollection",
        "rai:dataAnnotationProtocol",
        "rai:dataBiases",
        "rai:dataLimitations",
        "rai:personalSensitiveInformation",
        "license",
        "citeAs",
        "creator",
    ):
        assert doc[key], key
    assert (
        "weak" in doc["rai:dataAnnotationProtocol"]
        and "review" in doc["rai:dataAnnotationProtocol"].lower()
    )


def test_distribution_lists_every_shard_with_its_sha256(release: Path) -> None:
    doc = json.loads((release / CROISSANT).read_text())
    manifest = {
        e["path"]: e["sha256"] for e in json.loads((release / "manifest.json").read_text())["files"]
    }
    files = {
        d["contentUrl"]: d["sha256"] for d in doc["distribution"] if d["@type"] == "cr:FileObject"
    }
    shards = {p for p in manifest if p.endswith(".tar")}
    assert shards and shards <= set(files)
    assert all(files[p] == manifest[p] == file_sha256(release / p) for p in files)
    assert CROISSANT in manifest  # published and verified like every other file


def test_index_lines_are_the_shards_json_members(release: Path) -> None:
    doc = json.loads((release / CROISSANT).read_text())
    for rs in doc["recordSet"]:
        if "-" in rs["@id"]:
            continue  # image record sets
        config = rs["@id"]
        members = []
        for tar_path in sorted(
            release.glob(f"{config}/*/*.tar"),
            key=lambda p: (("train", "validation", "test").index(p.parent.name), p.name),
        ):
            with tarfile.open(tar_path) as tar:
                members += [tar.extractfile(m).read() for m in tar if m.name.endswith(".json")]
        assert (release / index_path(config)).read_bytes() == b"".join(m + b"\n" for m in members)


def test_record_set_fields_follow_the_declared_features(release: Path) -> None:
    doc = json.loads((release / CROISSANT).read_text())
    sets = {rs["@id"]: rs for rs in doc["recordSet"]}
    for config in ("grounding", "cot", "sequence_2img", IMAGES_CONFIG):
        main = sets[config]
        features = features_for(config, "once")
        names = [f["name"] for f in main["field"]]
        _, n = family_and_images(config)
        if config == IMAGES_CONFIG:
            assert names == ["__key__", "png", "json"]
        else:  # the image of a one-image record, joined from the images config on its study id
            assert names == ["__key__", "json"]
            assert (f"{config}-png" in sets) == (n == 1)
        (json_field,) = [f for f in main["field"] if f["name"] == "json"]
        assert [f["name"] for f in json_field["subField"]] == list(features["json"])
        if config == IMAGES_CONFIG:
            assert sets[f"{config}-png"]["field"][1]["dataType"] == "sc:ImageObject"
            continue
        types = {f["name"]: f["dataType"] for f in json_field["subField"]}
        assert types["question"] == "sc:Text" and types["provenance"] == "sc:StructuredValue"
        boxes = next(f for f in json_field["subField"] if f["name"] == "answer_boxes")
        assert boxes["isArray"] is True
        assert {f["name"]: f["dataType"] for f in boxes["subField"]}["x1"] == "sc:Float"


def _plain(value):
    """mlcroissant's values as load_dataset gives them: text as str, field ids as names."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {k.rsplit("/", 1)[1]: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _same(ours, theirs, where: str) -> None:
    if isinstance(theirs, float):
        # pandas' JSON reader (inside mlcroissant) parses floats to within an ulp or two
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15), where
    elif isinstance(theirs, dict):
        for k, v in theirs.items():
            _same(ours[k], v, f"{where}.{k}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


def nested_arrays(config: str) -> set[str]:
    """``outer/inner`` of every list inside a list of structs (cot: steps/boxes). mlcroissant
    1.1 reads one level of arrays: such an inner list comes back as None for each element,
    so these leaves are declared in croissant.json but not compared."""
    import datasets

    out = set()
    for name, value in features_for(config, "once")["json"].items():
        if isinstance(value, datasets.List) and isinstance(value.feature, dict):
            out |= {
                f"{name}/{inner}"
                for inner, v in value.feature.items()
                if isinstance(v, datasets.List)
            }
    return out


def _rows_by_key(release: Path, config: str) -> dict[str, dict]:
    """Rows of a config by key (record id; study id for the images config), records with
    their images joined."""
    rows = {}
    for split in ("train", "validation", "test"):
        if not list(release.glob(f"{config}/{split}/*.tar")):
            continue
        if config == IMAGES_CONFIG:
            for row in load_dataset(str(release), config, split=split):
                rows[row["json"]["study_id"]] = row
            continue
        for row in load_records(str(release), config, split):
            rows[row["json"]["record_id"]] = row
    return rows


def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def test_one_record_per_record_set_equals_load_dataset(release: Path) -> None:
    import mlcroissant as mlc

    doc = json.loads((release / CROISSANT).read_text())
    compared = []
    for rs in doc["recordSet"]:
        rs_id = rs["@id"]
        # a fresh reader per record set: mlcroissant keeps the partly read generator of a
        # record set it stopped reading, and a later join over it fails
        ds = mlc.Dataset(jsonld=str(release / CROISSANT))
        (record,) = list(itertools.islice(ds.records(rs_id), 1))
        config, _, field = rs_id.partition("-")
        rows = _rows_by_key(release, config)
        if field:  # image record set: key + image
            key = record[f"{rs_id}/key"].decode()
            assert np.array_equal(_pixels(record[f"{rs_id}/image"]), _pixels(rows[key][field]))
            compared.append(rs_id)
            continue
        key = record[f"{config}/__key__"].decode()
        row = rows[key]
        if config == IMAGES_CONFIG:
            assert np.array_equal(_pixels(record[f"{config}/png"]), _pixels(row["png"]))
        # mlcroissant returns nested structs flattened by field id: rebuild the tree
        want = row["json"]
        skipped = nested_arrays(config)
        got = _plain(record[f"{config}/json"])
        for fid, value in record.items():
            rel = fid.removeprefix(f"{config}/json/")
            if fid.startswith(f"{config}/json/") and rel not in skipped:
                parent, _, name = rel.rpartition("/")
                node = got
                for part in parent.split("/") if parent else []:
                    node = node.setdefault(part, {})
                node[name] = _plain(value)
        for name in skipped:
            outer, inner = name.split("/")
            for step in want[outer]:
                step.pop(inner)
        _same(got, want, rs_id)
        compared.append(rs_id)
    assert set(compared) == {rs["@id"] for rs in doc["recordSet"]}
    assert {
        "grounding",
        "cot",
        "sequence_2img",
        IMAGES_CONFIG,
        "images-png",
        "grounding-png",
    } <= set(compared)
    assert nested_arrays("cot") == {"steps/boxes"} and not nested_arrays("grounding")


def test_same_inputs_same_croissant_bytes(release: Path, tmp_path: Path) -> None:
    again = _build(tmp_path)
    assert (again / CROISSANT).read_bytes() == (release / CROISSANT).read_bytes()
