"""Release extras: the card's sections and gallery, LICENSES.md, adding files to a release,
and publishing to fsspec destinations (a local folder and an in-memory filesystem)."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest
from PIL import Image

from engine.config import load_config
from engine.pipeline import run_build
from shards.manifest import verify
from shards.publish import add_to_release
from shards.remote import PublishError, publish_to
from tests.helpers import write_config


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("extras")
    cfg = write_config(
        base / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 8, "image_size": 128}]
    )
    run_build(load_config(cfg), base / "release")
    return base / "release"


def test_card_sections_gallery_and_licences(release: Path) -> None:
    card = (release / "README.md").read_text()
    for heading in (
        "## Configs and splits",
        "## Records by source and task",
        "## Label sources",
        "## Review state",
        "## What was left out",
        "## Loading",
        "## How it was built",
        "## Known limitations",
        "## Licences and citations",
    ):
        assert heading in card
    assert "license_link: LICENSES.md" in card and "![Preview" in card
    assert "| sources.synthetic_cxr | 1 | generated |" in card
    with Image.open(release / "gallery.png") as img:
        assert img.size[0] == 4 * 256 and img.size[1] % 256 == 0
    licences = (release / "LICENSES.md").read_text()
    assert "## CC0-1.0" in licences and "synthetic_cxr" in licences
    listed = {e["path"] for e in json.loads((release / "manifest.json").read_text())["files"]}
    assert {"README.md", "LICENSES.md", "gallery.png"} <= listed


def test_card_renders_with_tables_and_gallery(release: Path) -> None:
    import markdown
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(release / "README.md")
    assert card.data.license == "other" and card.data.license_link == "LICENSES.md"
    configs = [c["config_name"] for c in card.data.configs]
    assert configs == ["cot", "grounding", "images", "sequence_2img"]
    assert card.data.source_datasets == ["synthetic_cxr"]
    html = markdown.markdown(card.text, extensions=["tables", "fenced_code"])
    assert html.count("<table>") >= 5  # splits, tasks, label sources, review, licences
    assert '<img alt="Preview: sampled records with their boxes" src="gallery.png"' in html


def test_add_to_release_updates_card_and_manifest(release: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "r"
    shutil.copytree(release, copy)
    (copy / "extra").mkdir()
    (copy / "extra" / "notes.txt").write_text("hello")
    add_to_release(copy, ["extra/notes.txt"], card_section="## Extra\n\nOne.", key="extra")
    add_to_release(copy, ["extra/notes.txt"], card_section="## Extra\n\nTwo.", key="extra")
    card = (copy / "README.md").read_text()
    assert card.count("## Extra") == 1 and "Two." in card and "One." not in card
    assert verify(copy) == []
    assert "extra/notes.txt" in {
        e["path"] for e in json.loads((copy / "manifest.json").read_text())["files"]
    }


@pytest.mark.parametrize("scheme", ["folder", "memory"])
def test_publish_to_fsspec(release: Path, tmp_path: Path, scheme: str) -> None:
    dest = str(tmp_path / "published") if scheme == "folder" else "memory://medsg-test/release"
    written = publish_to(release, dest)
    manifest = json.loads((release / "manifest.json").read_text())
    assert written[-1] == "manifest.json" and len(written) == len(manifest["files"]) + 1
    fs, root = fsspec.core.url_to_fs(dest)
    for entry in manifest["files"]:
        assert fs.cat_file(f"{root}/{entry['path']}") == (release / entry["path"]).read_bytes()
    if scheme == "folder":
        assert verify(Path(dest)) == []


def test_publish_refuses_a_tampered_release(release: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "r"
    shutil.copytree(release, copy)
    shard = next(copy.rglob("*.tar"))
    data = bytearray(shard.read_bytes())
    data[600] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(PublishError, match=shard.name):
        publish_to(copy, str(tmp_path / "dest"))
    assert not (tmp_path / "dest" / "manifest.json").exists()


def test_same_folder_name_different_releases_load_their_own_rows(tmp_path: Path) -> None:
    """datasets caches a local release by folder name and the card's file patterns; the
    content tag in the shard names keeps two releases called "out" apart."""
    import datasets

    from shards.reader import iter_release

    answers = {}
    for seed in (1, 2):
        source = {"kind": "synthetic_cxr", "n_images": 6, "seed": seed, "image_size": 64}
        cfg = write_config(tmp_path / f"c{seed}.yaml", [source], records={"sequences": False})
        out = tmp_path / f"build{seed}" / "out"
        run_build(load_config(cfg), out)
        loaded = datasets.load_dataset(str(out), "grounding", split="train")
        expected = {
            s.record["record_id"]: s.record["answer"]
            for s in iter_release(out)
            if s.config == "grounding" and s.split == "train"
        }
        got = {r["json"]["record_id"]: r["json"]["answer"] for r in loaded}
        assert got == expected
        answers[seed] = got
    assert answers[1] != answers[2]
