"""TotalSegmentator (task "total") as the source of organ masks when a CT ships none.

The call is the package's real Python API (``totalsegmentator.python_api.totalsegmentator``)
on the canonical volume; its multilabel output (TotalSegmentator class ids) is exactly what
``extractors.volume.sparse.ClassMasks.from_label_volume`` consumes. Weights are never downloaded:
they must already be on disk under ``weights_dir`` (TotalSegmentator's
``TOTALSEG_WEIGHTS_PATH`` layout, ``Dataset291_...`` folders holding
``checkpoint_final.pth``). Without them, ``MasksUnavailable`` says both ways to fix it.
Usage statistics are switched off in a private TotalSegmentator home."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from extractors.volume import TOTALSEGMENTATOR_TASK, Volume, totalseg_classes
from extractors.volume.sparse import ClassMasks

WEIGHTS_ENV = "TOTALSEG_WEIGHTS_PATH"
HOME_ENV = "TOTALSEG_HOME_DIR"


class MasksUnavailable(RuntimeError):
    """No masks were given and TotalSegmentator cannot run (weights missing or failing)."""


@dataclass(frozen=True)
class TotalSegSettings:
    weights_dir: Path | None = None  # None: $TOTALSEG_WEIGHTS_PATH, else none configured
    fast: bool = False  # the 3 mm model (one weights folder) instead of the 1.5 mm five
    device: str = "cpu"  # "cpu", "gpu", "gpu:N", "mps"
    home_dir: Path | None = None  # TotalSegmentator's config home; default: beside weights

    def resolved_weights_dir(self) -> Path | None:
        if self.weights_dir is not None:
            return Path(self.weights_dir)
        env = os.environ.get(WEIGHTS_ENV)
        return Path(env) if env else None


def required_weight_folders(fast: bool) -> list[str]:
    """The weights folders TotalSegmentator's "total" task needs, from the package's own
    task tables."""
    from totalsegmentator.map_tasks_config import TASK_ID_WEIGHTS_CONFIGS
    from totalsegmentator.python_api import get_task_config

    config = get_task_config(TOTALSEGMENTATOR_TASK, fast=fast, quiet=True)
    task_ids = config["task_id"] if isinstance(config["task_id"], list) else [config["task_id"]]
    return [TASK_ID_WEIGHTS_CONFIGS[t]["foldername"] for t in task_ids]


def fix_hint(ct_name: str) -> str:
    return (
        f"no organ masks for {ct_name}: either give the masks the dataset ships "
        "(--masks, or the case's 'masks' column: a multilabel NIfTI with TotalSegmentator "
        "class ids, or a folder of <class>.nii.gz files), or point TotalSegmentator at its "
        f"weights on disk (--totalseg-weights, the source's totalsegmentator.weights_dir, or "
        f"${WEIGHTS_ENV}); weights are never downloaded"
    )


def missing_weights(settings: TotalSegSettings) -> list[str]:
    """What is missing for a run: the weights folders (or their checkpoints) not on disk."""
    root = settings.resolved_weights_dir()
    folders = required_weight_folders(settings.fast)
    if root is None:
        return [f"no weights folder configured (needs {', '.join(folders)})"]
    missing = []
    for name in folders:
        folder = root / name
        if not folder.is_dir():
            missing.append(f"{folder} not found")
        elif not any(folder.rglob("checkpoint_final.pth")):
            missing.append(f"{folder} holds no checkpoint_final.pth")
    return missing


@contextmanager
def _totalseg_env(weights: Path, home: Path) -> Iterator[None]:
    """TotalSegmentator reads its folders from the environment; set them for the call only,
    with usage statistics off in its config."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.json"
    data = json.loads(config.read_text()) if config.is_file() else {}
    data.update(
        {"send_usage_stats": False, "statistics_disclaimer_shown": True, "totalseg_id": "medsg"}
    )
    data.setdefault("prediction_counter", 0)
    config.write_text(json.dumps(data, indent=1))
    saved = {k: os.environ.get(k) for k in (WEIGHTS_ENV, HOME_ENV)}
    os.environ[WEIGHTS_ENV], os.environ[HOME_ENV] = str(weights), str(home)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def segment(volume: Volume, settings: TotalSegSettings, ct_name: str) -> ClassMasks:
    """TotalSegmentator's "total" masks of a canonical volume, on the same grid."""
    missing = missing_weights(settings)
    if missing:
        raise MasksUnavailable(
            f"{fix_hint(ct_name)}. TotalSegmentator weights: {'; '.join(missing)}"
        )
    import nibabel as nib
    from totalsegmentator.python_api import totalsegmentator

    weights = settings.resolved_weights_dir()
    assert weights is not None
    home = settings.home_dir or weights.parent / "totalseg_home"
    image = nib.Nifti1Image(np.asarray(volume.data, dtype=np.int16), volume.affine)
    try:
        with _totalseg_env(weights, home):
            seg = totalsegmentator(
                image,
                None,
                ml=True,
                task=TOTALSEGMENTATOR_TASK,
                fast=settings.fast,
                device=settings.device,
                quiet=True,
                nr_thr_saving=1,
            )
    except Exception as exc:  # the model stack raises many types (missing files, CUDA...)
        raise MasksUnavailable(
            f"TotalSegmentator failed on {ct_name}: {type(exc).__name__}: {exc}. "
            f"{fix_hint(ct_name)}"
        ) from None
    labels = np.asarray(seg.dataobj)
    if labels.shape != volume.shape:
        raise MasksUnavailable(
            f"TotalSegmentator returned shape {labels.shape} for {ct_name} of shape {volume.shape}"
        )
    return ClassMasks.from_label_volume(labels, totalseg_classes())
