"""Identity: stable ids, pseudonyms and patient-level splits (DESIGN.md, "Identity").

Ids are hashes of what a thing is made from, so the same inputs give the same ids on any
machine. They contain only ``[a-z0-9-]``: no dots, so they are valid WebDataset keys.
Pseudonyms are keyed hashes (HMAC-SHA256) of input ids with the build's salt: without the
salt they cannot be recomputed from a public id list.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from schemas.enums import Split

_SEP = "\x1f"
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def stable_id(prefix: str, *parts: object) -> str:
    """``<prefix>-<24 hex>`` from the parts, in order."""
    digest = hashlib.sha256(_SEP.join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:24]}"


def pseudonym(kind: str, value: str, *, salt: str) -> str:
    """``<kind>-<20 hex>``: a keyed hash of an input id (patient, image, file)."""
    if not salt:
        raise ValueError("pseudonym salt must not be empty")
    mac = hmac.new(salt.encode("utf-8"), f"{kind}{_SEP}{value}".encode(), hashlib.sha256)
    return f"{kind}-{mac.hexdigest()[:20]}"


def is_valid_key(key: str) -> bool:
    """True when key can name a WebDataset sample (and a Hugging Face row)."""
    return bool(_KEY_RE.match(key))


def patient_split(patient_id: str, weights: tuple[int, int, int] = (80, 10, 10)) -> Split:
    """Train / validation / test for a pseudonymous patient id, by a hash of the id alone.

    ``weights`` are integer percentages summing to 100. Every record of a patient lands in
    the same split, so no patient crosses splits.
    """
    if sum(weights) != 100 or min(weights) < 0:
        raise ValueError(f"split weights must be >= 0 and sum to 100, got {weights}")
    bucket = int(hashlib.sha256(f"split{_SEP}{patient_id}".encode()).hexdigest()[:8], 16) % 100
    if bucket < weights[0]:
        return Split.TRAIN
    if bucket < weights[0] + weights[1]:
        return Split.VALIDATION
    return Split.TEST


@dataclass(frozen=True)
class Pseudonymizer:
    """The build's pseudonyms for patients, studies and source items (one salt per build)."""

    salt: str

    def patient(self, dataset: str, patient_key: str) -> str:
        return pseudonym("patient", f"{dataset}/{patient_key}", salt=self.salt)

    def study(self, dataset: str, item_id: str) -> str:
        return pseudonym("study", f"{dataset}/{item_id}", salt=self.salt)

    def item(self, dataset: str, item_id: str) -> str:
        return pseudonym("item", f"{dataset}/{item_id}", salt=self.salt)
