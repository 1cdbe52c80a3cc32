"""The release layouts on one small synthetic build (sequences on), built twice: ``once``
(the default: the ``images`` config holds each published image once per split, the record
configs only JSON) and ``per_record`` (every record sample carries its images). Issue 16:
shard bytes at most 1.3x the unique published image bytes; every config loads offline and
streaming; the per-record join gives the embedded layout's (record, image bytes) pairs; the
exports are the same bytes."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import datasets
import pytest
import yaml

from engine.config import load_config
from engine.pipeline import run_build
from exports.write import FORMATS, export_release
from shards import load_release
from shards.croissant import CROISSANT
from shards.features import features_for, record_view_features
from shards.load_release import LOADER, load_records
from shards.manifest import verify
from shards.reader import iter_release
from shards.writer import IMAGES_CONFIG
from tests.helpers import write_config

SOURCE = {"kind": "synthetic_cxr", "n_images": 8, "seed": 3, "image_size": 384}


def _build(base: Path, layout: str):
    cfg = write_config(base / "c.yaml", [SOURCE], shards={"images": layout})
    return run_build(load_config(cfg), base / "release")


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    return {
        layout: _build(tmp_path_factory.mktemp(layout), layout) for layout in ("once", "per_record")
    }


def _out(builds: dict, layout: str) -> Path:
    return Path(builds[layout].out)


def _members(out: Path) -> list[tuple[str, str, bytes]]:
    """(shard path, member name, bytes) of every member of every shard."""
    found = []
    for tar_path in sorted(out.glob("*/*/*.tar")):
        with tarfile.open(tar_path) as tar:
            for m in tar:
                found.append(
                    (tar_path.relative_to(out).as_posix(), m.name, tar.extractfile(m).read())
                )
    return found


def _referenced(out: Path) -> set[tuple[str, str]]:
    """(split, study id) of every image a record of the release names."""
    refs = set()
    for rel, name, data in _members(out):
        config, split = rel.split("/")[:2]
        if config != IMAGES_CONFIG and name.endswith(".json"):
            record = json.loads(data)
            images = record["images"] if "images" in record else [record["image"]]
            refs |= {(split, ref["study_id"]) for ref in images}
    return refs


def test_images_are_stored_once_and_the_ratio_is_printed(builds: dict) -> None:
    once, per = _out(builds, "once"), _out(builds, "per_record")
    members = _members(once)
    pngs = [(rel.split("/")[:2], name) for rel, name, _ in members if name.endswith(".png")]
    referenced = _referenced(once)
    assert {c for (c, _), _ in pngs} == {IMAGES_CONFIG}  # no record sample carries an image
    assert len(pngs) == len(referenced) == len({n for _, n in pngs})  # each once, one split
    assert {(s, n.removesuffix(".png")) for (_, s), n in pngs} == referenced
    assert {c for c in builds["once"].configs} >= {"grounding", "cot", "sequence_2img"}
    unique = {n: d for _, n, d in members if n.endswith(".png")}
    shard_bytes = sum(p.stat().st_size for p in once.glob("*/*/*.tar"))
    size = builds["once"].release_size
    assert size["shard_bytes"] == shard_bytes
    assert size["unique_image_bytes"] == sum(len(d) for d in unique.values())
    assert size["unique_images"] == len(unique)
    assert size["ratio"] == round(shard_bytes / size["unique_image_bytes"], 3) <= 1.3
    per_size = builds["per_record"].release_size
    assert per_size["unique_image_bytes"] == size["unique_image_bytes"]
    per_pngs = [n for _, n, _ in _members(per) if ".png" in n]
    assert len(per_pngs) > 2 * len(pngs) and per_size["ratio"] > 2 * size["ratio"]
    line = next(x for x in builds["once"].summary_lines() if "release size" in x)
    assert f"shards {shard_bytes} bytes" in line and f"{size['ratio']:.3f}" in line
    card = (once / "README.md").read_text()
    assert f"Release size: shards {shard_bytes} bytes" in card
    assert json.loads((once / "_build" / "stats.json").read_text())["release_size"] == size


def _card_configs(out: Path) -> dict[str, list[str]]:
    front = (out / "README.md").read_text().split("---\n")[1]
    return {
        c["config_name"]: [f["split"] for f in c["data_files"]]
        for c in yaml.safe_load(front)["configs"]
    }


@pytest.mark.parametrize("layout", ["once", "per_record"])
def test_every_config_loads_offline_and_streaming(builds: dict, layout: str) -> None:
    out = _out(builds, layout)
    configs = _card_configs(out)
    counts = dict(builds[layout].configs)
    if layout == "once":
        counts[IMAGES_CONFIG] = builds[layout].release_size["images_by_split"]
    assert set(configs) == set(counts)
    assert (IMAGES_CONFIG in configs) == (layout == "once")
    for config, splits in configs.items():
        for split in splits:
            ds = datasets.load_dataset(str(out), config, split=split)
            assert ds.num_rows == counts[config][split], (config, split)
            assert ds.features == features_for(config, layout)
            streamed = list(datasets.load_dataset(str(out), config, split=split, streaming=True))
            assert [r["json"] for r in streamed] == ds["json"]


def _pairs(rows, fields: list[str]) -> list[tuple[str, list[bytes]]]:
    return sorted((r["json"]["record_id"], [r[f]["bytes"] for f in fields]) for r in rows)


def _raw(ds, fields: list[str]):
    for f in fields:
        ds = ds.cast_column(f, datasets.Image(decode=False))
    return ds


@pytest.mark.parametrize("streaming", [False, True])
def test_per_record_view_gives_the_embedded_pairs(builds: dict, streaming: bool) -> None:
    once, per = _out(builds, "once"), _out(builds, "per_record")
    compared = 0
    for config, splits in builds["per_record"].configs.items():
        fields = list(record_view_features(config))[:-1]
        for split in splits:
            joined = load_records(str(once), config, split, streaming=streaming)
            assert joined.features == record_view_features(config)
            want = datasets.load_dataset(str(per), config, split=split)
            got = _pairs(_raw(joined, fields), fields)
            assert got == _pairs(_raw(want, fields), fields)
            compared += len(got)
    assert compared == builds["once"].stats["flow"]["records_published"] > 0


def test_reader_joins_images_back_and_exports_are_the_same_bytes(
    builds: dict, tmp_path: Path
) -> None:
    once, per = _out(builds, "once"), _out(builds, "per_record")
    samples = [(s.config, s.split, s.record, s.images) for s in iter_release(once)]
    assert samples == [(s.config, s.split, s.record, s.images) for s in iter_release(per)]
    assert len(samples) == builds["once"].stats["flow"]["records_published"]
    for fmt in FORMATS:
        files = []
        for layout, out in (("once", once), ("per_record", per)):
            export_release(out, tmp_path / fmt / layout, fmt)
            root = tmp_path / fmt / layout
            files.append(
                sorted(
                    (p.relative_to(root).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
                    for p in root.rglob("*")
                    if p.is_file()
                )
            )
        assert files[0] == files[1] and len(files[0]) > 3, fmt


def test_record_json_and_images_agree_across_layouts(builds: dict) -> None:
    """The record JSON members are the same bytes in both layouts, the images config's
    PNGs are the bytes the per_record samples carry, and its JSON says their sha256."""
    once, per = _out(builds, "once"), _out(builds, "per_record")
    records_once = {(r.split("/")[:2][0], n): d for r, n, d in _members(once) if ".json" in n}
    records_per = {(r.split("/")[:2][0], n): d for r, n, d in _members(per) if ".json" in n}
    assert {k: v for k, v in records_once.items() if k[0] != IMAGES_CONFIG} == records_per
    images = {}
    for rel, name, data in _members(once):
        if rel.startswith(IMAGES_CONFIG + "/"):
            images.setdefault(name.split(".")[0], {})[name.split(".", 1)[1]] = data
    for study_id, fields in images.items():
        meta = json.loads(fields["json"])
        assert meta["study_id"] == study_id
        assert meta["sha256"] == hashlib.sha256(fields["png"]).hexdigest()
        assert set(meta) == {"study_id", "modality", "view", "width", "height", "sha256", "licence"}
    embedded = {d for _, n, d in _members(per) if n.endswith(".png")}
    assert embedded == {f["png"] for f in images.values()}


def test_release_carries_the_join_and_describes_the_images_config(builds: dict) -> None:
    once, per = _out(builds, "once"), _out(builds, "per_record")
    assert verify(once) == [] and verify(per) == []
    assert (once / LOADER).read_bytes() == Path(load_release.__file__).read_bytes()
    manifest = json.loads((once / "manifest.json").read_text())
    assert LOADER in {e["path"] for e in manifest["files"]}
    assert not (per / LOADER).exists()
    card = (once / "README.md").read_text()
    assert "from load_release import load_records" in card and "`images` config" in card
    doc = json.loads((once / CROISSANT).read_text())
    sets = {rs["@id"]: rs for rs in doc["recordSet"]}
    assert [f["name"] for f in sets[IMAGES_CONFIG]["field"]] == ["__key__", "png", "json"]
    assert [f["name"] for f in sets["grounding"]["field"]] == ["__key__", "json"]
    assert [f["name"] for f in sets["grounding-png"]["field"]] == ["key", "study_id", "image"]
    assert [f["name"] for f in sets["sequence_2img"]["field"]] == ["__key__", "json"]
    assert "images" in (once / "LICENSES.md").read_text()


def test_the_cards_loading_code_runs_and_gives_the_joined_rows(builds: dict) -> None:
    """Both code blocks of the card's "Loading" section, run as printed (the path filled
    in): the release's own load_release.py, imported from the folder, and the join by hand
    give the rows load_records gives."""
    import sys

    out = _out(builds, "once")
    section = (out / "README.md").read_text().split("## Loading", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 2
    scopes = []
    try:
        for block in blocks:
            scope: dict = {}
            code = block.replace("<path to this folder>", str(out)).replace("<path>", str(out))
            exec(compile(code, "card", "exec"), scope)
            scopes.append(scope)
    finally:
        sys.path.remove(str(out))
        imported = sys.modules.pop("load_release")
    assert Path(imported.__file__).resolve() == (out / LOADER).resolve()
    config = scopes[1]["records"].info.config_name
    want = _pairs(_raw(load_records(str(out), config, "train"), ["png"]), ["png"])
    assert _pairs(_raw(scopes[0]["ds"], ["png"]), ["png"]) == want
    assert _pairs(_raw(scopes[1]["ds"], ["png"]), ["png"]) == want
    assert len(want) == builds["once"].configs[config]["train"]
