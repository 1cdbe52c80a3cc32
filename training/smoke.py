"""``medsg smoke-train``: train the small grounding model on a release's train split, score it
on the validation split with the MedSG-Bench metric against trivial baselines, and publish
weights, metrics and a model card inside the release (manifest updated).

It proves two things: the release loads through ``datasets.load_dataset``, and its boxes are
learnable (the model must beat the best trivial baseline). Training is deterministic for a
given thread count: a fixed number of epochs, fixed seeds, deterministic kernels."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evaluation.metric import ItemScore, summarize
from schemas.boxes import Box
from training.data import Example, load_examples
from training.model import HeatmapGrounder, box_from_heatmap, box_mask

MODEL_DIR = "smoke_model"


@dataclass(frozen=True)
class SmokeConfig:
    config: str = "grounding"  # the release config to train on
    size: int = 96  # images are resized to size x size
    epochs: int = 15
    batch_size: int = 16
    learning_rate: float = 3e-3
    seed: int = 0
    threads: int = 2
    time_budget_s: float = 270.0  # stop early (and say so) if epochs take longer
    device: str = "auto"  # auto: CUDA when present, else CPU


class SmokeError(RuntimeError):
    """The release cannot be used for the smoke test (no examples, unknown config)."""


def _iou(a: tuple, b: tuple) -> float:
    return float(Box(*(float(v) for v in a)).iou(Box(*(float(v) for v in b))))


def _scores(examples: list[Example], boxes: list[tuple]) -> dict:
    items = [
        ItemScore(e.record_id, "phrase_grounding", _iou(e.box, b), True)
        for e, b in zip(examples, boxes, strict=True)
    ]
    return summarize(items)


def baselines(train: list[Example], val: list[Example]) -> dict[str, dict]:
    """Trivial answers: the training set's mean box, the centre box of that mean size, and the
    mean box of the asked label."""
    boxes = [b for e in train for b in e.boxes]
    mean = [float(v) for v in np.mean(boxes, axis=0)]
    w, h = mean[2] - mean[0], mean[3] - mean[1]
    centre = (0.5 - w / 2, 0.5 - h / 2, 0.5 + w / 2, 0.5 + h / 2)
    per_label = {
        label: tuple(
            float(v)
            for v in np.mean([b for e in train if e.label == label for b in e.boxes], axis=0)
        )
        for label in {e.label for e in train}
    }
    return {
        "train_mean_box": _scores(val, [tuple(mean)] * len(val)),
        "centre_box": _scores(val, [centre] * len(val)),
        "label_mean_box": _scores(val, [per_label.get(e.label, tuple(mean)) for e in val]),
    }


def _device(choice: str):
    import torch

    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def train_model(train: list[Example], labels: list[str], cfg: SmokeConfig, log=print):
    """Fit the heat-map grounder; returns (model, epochs run, seconds, stopped early)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = _device(cfg.device)
    model = HeatmapGrounder(len(labels)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=1e-4)
    images = torch.from_numpy(np.stack([e.image for e in train])[:, None]).to(device)
    masks = torch.from_numpy(np.stack([box_mask(e.boxes, cfg.size) for e in train])).to(device)
    channel = torch.tensor([labels.index(e.label) for e in train], device=device)
    rng = np.random.default_rng(cfg.seed)
    start, epochs_run = time.monotonic(), 0
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(train)))
        total = 0.0
        for i in range(0, len(train), cfg.batch_size):
            idx = order[i : i + cfg.batch_size].to(device)
            logits = model(images[idx])
            picked = logits[torch.arange(len(idx), device=device), channel[idx]]
            target = masks[idx]
            prob = torch.sigmoid(picked)
            inter = (prob * target).sum(dim=(1, 2))
            dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2)) + target.sum(dim=(1, 2)) + 1)
            loss = F.binary_cross_entropy_with_logits(picked, target) + dice.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        epochs_run = epoch + 1
        elapsed = time.monotonic() - start
        mean_loss = total / len(train)
        log(f"smoke-train: epoch {epochs_run}/{cfg.epochs} loss {mean_loss:.4f} ({elapsed:.0f} s)")
        if elapsed > cfg.time_budget_s and epochs_run < cfg.epochs:
            return model, epochs_run, elapsed, True
    return model, epochs_run, time.monotonic() - start, False


def predict(model, examples: list[Example], labels: list[str], cfg: SmokeConfig) -> list[tuple]:
    import torch

    device = next(model.parameters()).device
    model.eval()
    boxes = []
    with torch.no_grad():
        for e in examples:
            logits = model(torch.from_numpy(e.image[None, None]).to(device))[0]
            prob = torch.sigmoid(logits[labels.index(e.label)]).cpu().numpy()
            boxes.append(box_from_heatmap(prob))
    return boxes


def smoke_train(release: Path, cfg: SmokeConfig = SmokeConfig(), log=print) -> dict:
    """Train, evaluate, and write ``<release>/smoke_model/`` (weights, metrics, card)."""
    import torch

    train = load_examples(release, cfg.config, "train", cfg.size, single_box=False)
    val = load_examples(release, cfg.config, "validation", cfg.size, single_box=True)
    if not train or not val:
        raise SmokeError(
            f"{release} ({cfg.config}): {len(train)} train and {len(val)} single-box validation "
            "phrase-grounding records; the smoke test needs both"
        )
    labels = sorted({e.label for e in train})
    unseen = [e for e in val if e.label not in labels]
    val = [e for e in val if e.label in labels]
    log(f"smoke-train: {len(train)} train / {len(val)} validation examples, labels {labels}")
    model, epochs_run, seconds, stopped = train_model(train, labels, cfg, log)
    model_scores = _scores(val, predict(model, val, labels, cfg))
    base = baselines(train, val)
    best_name = max(base, key=lambda k: base[k]["mean_iou"])
    best = base[best_name]
    metrics = {
        "release_config": cfg.config,
        "split_trained": "train",
        "split_evaluated": "validation",
        "n_train": len(train),
        "n_validation": len(val),
        "validation_labels_unseen_in_train": len(unseen),
        "labels": labels,
        "model": model_scores,
        "baselines": base,
        "best_baseline": best_name,
        "improvement_over_best_baseline": {
            "mean_iou": model_scores["mean_iou"] - best["mean_iou"],
            "acc@0.5": model_scores["acc@0.5"] - best["acc@0.5"],
        },
        "beats_best_baseline": bool(
            model_scores["mean_iou"] > best["mean_iou"]
            and model_scores["acc@0.5"] > best["acc@0.5"]
        ),
        "training": {
            **asdict(cfg),
            "epochs_run": epochs_run,
            "stopped_by_time_budget": stopped,
            "device": str(_device(cfg.device)),
            "torch": torch.__version__,
        },
    }
    out = release / MODEL_DIR
    out.mkdir(exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, out / "model.pt")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    (out / "README.md").write_text(model_card(metrics))
    from shards.publish import add_to_release

    add_to_release(
        release,
        [f"{MODEL_DIR}/model.pt", f"{MODEL_DIR}/metrics.json", f"{MODEL_DIR}/README.md"],
        card_section=card_section(metrics),
        key="smoke-model",
    )
    return {**metrics, "seconds": round(seconds, 1)}  # timing is reported, never published


def _row(name: str, s: dict) -> str:
    cells = [f"{s[k]:.3f}" for k in ("mean_iou", "acc@0.3", "acc@0.5", "acc@0.7")]
    return f"| {name} | " + " | ".join(cells) + " |"


def _table(metrics: dict) -> str:
    rows = [_row("smoke model", metrics["model"])]
    rows += [_row(name, s) for name, s in sorted(metrics["baselines"].items())]
    return (
        "| answer | mean IoU | acc@0.3 | acc@0.5 | acc@0.7 |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )


def card_section(metrics: dict) -> str:
    gain = metrics["improvement_over_best_baseline"]
    verdict = "beats" if metrics["beats_best_baseline"] else "does NOT beat"
    return (
        "## Smoke-test model\n\n"
        f"A small heat-map grounding network (`{MODEL_DIR}/`) trained on the "
        f"`{metrics['release_config']}` train split ({metrics['n_train']} phrase-grounding "
        f"records) and scored on the single-box validation records ({metrics['n_validation']}) "
        "with the MedSG-Bench "
        f"metric {verdict} the best trivial baseline ({metrics['best_baseline']}) by "
        f"{gain['mean_iou']:+.3f} mean IoU and {gain['acc@0.5']:+.3f} accuracy at IoU 0.5.\n\n"
        + _table(metrics)
    )


def model_card(metrics: dict) -> str:
    t = metrics["training"]
    return (
        "# Smoke-test grounding model\n\n"
        "Proof that this release loads through `datasets.load_dataset` and that its boxes are "
        "learnable. Not a clinical model; not for diagnosis.\n\n"
        "## Model\n\nA two-level U-Net (about 120k parameters) mapping a "
        f"{t['size']}x{t['size']} grayscale image to one heat map per finding label "
        f"({', '.join(metrics['labels'])}); the answer box frames the strongest blob of the "
        "asked label's map. Loss: binary cross-entropy plus soft Dice against the box mask.\n\n"
        f"## Training\n\n{t['epochs_run']} epochs on {t['device']} ({t['threads']} threads, "
        f"torch {t['torch']}), AdamW lr {t['learning_rate']}, batch "
        f"{t['batch_size']}, seed {t['seed']}"
        + (" (stopped by the time budget)" if t["stopped_by_time_budget"] else "")
        + ".\n\n## Validation (MedSG-Bench metric)\n\n"
        + _table(metrics)
        + "\n\nLoad the weights:\n\n```python\nimport torch\nfrom training.model import "
        "HeatmapGrounder\nstate = torch.load('smoke_model/model.pt')\nmodel = HeatmapGrounder("
        f"{len(metrics['labels'])}); model.load_state_dict(state)\n```\n"
    )
