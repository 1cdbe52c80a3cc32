"""The smoke-test model on a small synthetic release: it reads the shards through datasets,
beats the trivial baselines, publishes its files in the manifest, and is deterministic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from shards.manifest import verify
from tests.helpers import write_config
from training.data import Example
from training.model import box_from_heatmap, box_mask
from training.smoke import SmokeConfig, SmokeError, baselines, smoke_train


def test_box_mask_and_heatmap_box_round_trip() -> None:
    mask = box_mask([(0.25, 0.5, 0.5, 0.75)], 32)
    assert mask.sum() == 8 * 8
    assert box_from_heatmap(mask) == (0.25, 0.5, 0.5, 0.75)
    two = box_mask([(0.0, 0.0, 0.25, 0.25), (0.5, 0.5, 1.0, 1.0)], 16)
    two[12, 12] = 2.0  # the strongest blob wins
    assert box_from_heatmap(two) == (0.5, 0.5, 1.0, 1.0)


def test_baselines_score_what_iou_says() -> None:
    img = np.zeros((4, 4), np.float32)
    train = [
        Example("a", img, "nodule", ((0.0, 0.0, 0.5, 0.5),)),
        Example("b", img, "nodule", ((0.5, 0.5, 1.0, 1.0),)),
    ]
    val = [Example("c", img, "nodule", ((0.25, 0.25, 0.75, 0.75),))]
    scores = baselines(train, val)
    assert scores["train_mean_box"]["mean_iou"] == pytest.approx(1.0)
    assert scores["centre_box"]["mean_iou"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("smoke")
    cfg = write_config(
        base / "c.yaml", [{"kind": "synthetic_cxr", "n_images": 160, "seed": 1, "image_size": 128}]
    )
    run_build(load_config(cfg), base / "release")
    return base / "release"


def test_smoke_model_learns_and_is_published(release: Path, tmp_path: Path) -> None:
    a = tmp_path / "a"
    shutil.copytree(release, a)
    metrics = smoke_train(a, SmokeConfig(), log=lambda _: None)
    assert metrics["n_train"] > 50 and metrics["n_validation"] >= 5
    training = metrics["training"]
    assert training["epochs_run"] == 15 and not training["stopped_by_time_budget"]
    best = metrics["baselines"][metrics["best_baseline"]]
    assert metrics["model"]["mean_iou"] > best["mean_iou"] + 0.1
    assert metrics["model"]["acc@0.5"] > best["acc@0.5"]
    assert metrics["beats_best_baseline"] is True
    assert verify(a) == []
    listed = {e["path"] for e in json.loads((a / "manifest.json").read_text())["files"]}
    assert {"smoke_model/model.pt", "smoke_model/metrics.json", "smoke_model/README.md"} <= listed
    assert "## Smoke-test model" in (a / "README.md").read_text()


def test_smoke_training_is_deterministic(release: Path, tmp_path: Path) -> None:
    manifests = []
    for name in ("b", "c"):
        shutil.copytree(release, tmp_path / name)
        smoke_train(tmp_path / name, SmokeConfig(epochs=2), log=lambda _: None)
        manifests.append((tmp_path / name / "manifest.json").read_bytes())
    assert manifests[0] == manifests[1]


def test_smoke_needs_both_splits(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c.yaml",
        [{"kind": "synthetic_cxr", "n_images": 4, "image_size": 64}],
        split={"train": 100, "validation": 0, "test": 0},
    )
    run_build(load_config(cfg), tmp_path / "r")
    with pytest.raises(SmokeError, match="0 single-box validation"):
        smoke_train(tmp_path / "r", SmokeConfig(epochs=1), log=lambda _: None)
