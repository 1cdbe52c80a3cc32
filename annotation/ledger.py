"""The review state a build keeps in its private folder (``_build/review/``):

- ``ledger.json``: every review pulled from Label Studio, one per annotation, keyed by the
  annotation id. Pulling the same annotation again changes nothing; an edited annotation
  (new ``updated_at``) replaces its row. Merges read reviews from here, never from the
  server, so a build applies the same reviews with the server down, and no review is lost
  or applied twice.
- ``sync_state.json``: per Label Studio project, its id and the newest task ``updated_at``
  seen (the next pull asks only for tasks changed since).
- ``pushed.json``: which records were sent to review, in which project and task.
- ``published.json``: the ledger digest the current release was published with.

Files are written atomically (temporary file, then rename) with sorted keys.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from annotation.tasks import Review
from shards.layout import BuildLayout


def review_dir(layout: BuildLayout) -> Path:
    return layout.build / "review"


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _read_json(path: Path, default):
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); restore it or remove it") from None


@dataclass
class Ledger:
    """Reviews by annotation id."""

    path: Path
    reviews: dict[int, Review]

    @classmethod
    def load(cls, layout: BuildLayout) -> Ledger:
        path = review_dir(layout) / "ledger.json"
        rows = _read_json(path, [])
        return cls(path, {int(r["annotation_id"]): Review.from_dict(r) for r in rows})

    def upsert(self, review: Review) -> str:
        """Add or replace a review: ``added``, ``updated`` or ``unchanged``. A review already
        held with the same ``updated_at`` keeps its row (and the weak label it was made on)."""
        held = self.reviews.get(review.annotation_id)
        if held is None:
            self.reviews[review.annotation_id] = review
            return "added"
        if held.updated_at == review.updated_at:
            return "unchanged"
        self.reviews[review.annotation_id] = review
        return "updated"

    def rows(self) -> list[dict]:
        return [self.reviews[k].as_dict() for k in sorted(self.reviews)]

    def digest(self) -> str:
        blob = json.dumps(self.rows(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def save(self) -> None:
        _write_json(self.path, self.rows())

    def by_record(self) -> dict[str, list[Review]]:
        out: dict[str, list[Review]] = {}
        for key in sorted(self.reviews):
            review = self.reviews[key]
            out.setdefault(review.record_id, []).append(review)
        return out


def ledger_digest(layout: BuildLayout) -> str:
    """Digest of the ledger on disk ("" when there is none): part of the publish cache key."""
    path = review_dir(layout) / "ledger.json"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20] if path.is_file() else ""


def load_sync_state(layout: BuildLayout) -> dict:
    return _read_json(review_dir(layout) / "sync_state.json", {})


def save_sync_state(layout: BuildLayout, state: dict) -> None:
    _write_json(review_dir(layout) / "sync_state.json", state)


def load_pushed(layout: BuildLayout) -> dict:
    return _read_json(review_dir(layout) / "pushed.json", {})


def save_pushed(layout: BuildLayout, pushed: dict) -> None:
    _write_json(review_dir(layout) / "pushed.json", pushed)


def load_published(layout: BuildLayout) -> dict:
    return _read_json(review_dir(layout) / "published.json", {})


def save_published(layout: BuildLayout, info: dict) -> None:
    _write_json(review_dir(layout) / "published.json", info)
