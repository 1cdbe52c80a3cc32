"""``medsg publish --to hf://datasets/<org>/<name>``: the Hub code path (URL parsing, repo
creation, huggingface_hub's fsspec filesystem, manifest last) run against a local fsspec
filesystem in place of HfFileSystem (no network here), and the card's configs checked with
the parsers the Hub's viewer uses (huggingface_hub's DatasetCard, datasets' metadata)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem

from engine.config import load_config
from engine.pipeline import run_build
from medsg.cli import main
from shards import remote
from shards.remote import PublishError, publish_to
from tests.helpers import write_config


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hub")
    cfg = write_config(
        base / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 8, "image_size": 96}]
    )
    run_build(load_config(cfg), base / "release")
    return base / "release"


class RecordingDirFS(DirFileSystem):
    """A local folder standing in for the Hub; remembers the order files arrive in."""

    written: list[str]

    def put_file(self, lpath, rpath, *args, **kwargs):
        self.written.append(rpath)
        return super().put_file(lpath, rpath, *args, **kwargs)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch) -> dict:
    root = tmp_path / "hub"
    root.mkdir()
    state: dict = {"root": root, "repos": []}
    fs = RecordingDirFS(path=str(root), fs=LocalFileSystem())
    fs.written = []
    state["fs"] = fs
    monkeypatch.setattr(remote, "hub_filesystem", lambda: fs)
    monkeypatch.setattr(remote, "ensure_hub_dataset", state["repos"].append)
    return state


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_hub_path_writes_the_same_bytes_as_a_folder_manifest_last(
    release: Path, tmp_path: Path, hub: dict
) -> None:
    folder = tmp_path / "folder"
    assert main(["publish", "--release", str(release), "--to", str(folder)]) == 0
    written = publish_to(release, "hf://datasets/medsg-org/demo")
    assert hub["repos"] == ["medsg-org/demo"]
    repo = hub["root"] / "datasets" / "medsg-org" / "demo"
    assert _tree(repo) == _tree(folder) and len(_tree(repo)) == len(written)
    assert hub["fs"].written[-1] == "datasets/medsg-org/demo/manifest.json"
    assert written[-1] == "manifest.json"
    assert {"croissant.json", "README.md", "LICENSES.md"} <= set(_tree(repo))


def test_cli_publishes_to_the_hub_url(release: Path, hub: dict, capsys) -> None:
    assert main(["publish", "--release", str(release), "--to", "hf://datasets/org/name"]) == 0
    assert "hf://datasets/org/name" in capsys.readouterr().out
    assert (hub["root"] / "datasets/org/name/manifest.json").is_file()


@pytest.mark.parametrize(
    "url", ["hf://models/org/name", "hf://datasets/name", "hf://datasets/org/name@main"]
)
def test_hub_urls_other_than_a_dataset_repo_are_refused(release: Path, url: str, hub: dict) -> None:
    with pytest.raises(PublishError, match="hf://datasets/<org>/<name>"):
        publish_to(release, url)
    assert hub["repos"] == [] and hub["fs"].written == []


def test_card_configs_are_valid_for_the_hub_viewer(release: Path, tmp_path: Path) -> None:
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(release / "README.md")
    configs = MetadataConfigs.from_dataset_card_data(card.data)  # raises on bad data_files
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    assert set(configs) == set(infos) == {"cot", "grounding", "images", "sequence_2img"}
    published = tmp_path / "p"
    shutil.copytree(release, published, ignore=shutil.ignore_patterns("_build"))
    fs = fsspec.filesystem("file")
    for name, config in configs.items():
        assert infos[name].features is not None
        for entry in config["data_files"]:
            assert entry["split"] in ("train", "validation", "test")
            matched = fs.glob(str(published / entry["path"]))
            assert matched and all(m.endswith(".tar") for m in matched), entry
    assert (
        json.loads((published / "croissant.json").read_text())["name"] == card.data["pretty_name"]
    )
