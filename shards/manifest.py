"""The release manifest: sha256 and size of every published file, and a dataset version that
is the hash of them all (same files, same version). ``verify`` checks a release against it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(root: Path, files: list[str], *, name: str, config_version: str) -> dict:
    """Manifest of ``files`` (paths relative to root, '/'-separated)."""
    entries = [
        {"path": rel, "sha256": file_sha256(root / rel), "size": (root / rel).stat().st_size}
        for rel in sorted(files)
    ]
    blob = "\n".join(f"{e['path']} {e['sha256']}" for e in entries).encode()
    return {
        "name": name,
        "config_version": config_version,
        "dataset_version": hashlib.sha256(blob).hexdigest()[:16],
        "files": entries,
    }


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class VerifyProblem:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def verify(root: Path, *, full: bool = True) -> list[VerifyProblem]:
    """Every way the files under root differ from root/manifest.json (empty: all good).
    ``full=False`` compares sizes only (fast, for cache checks)."""
    path = root / MANIFEST
    if not path.is_file():
        return [VerifyProblem(MANIFEST, "missing")]
    try:
        manifest = json.loads(path.read_text())
        entries = manifest["files"]
    except (ValueError, KeyError) as exc:
        return [VerifyProblem(MANIFEST, f"unreadable: {exc}")]
    problems = []
    for entry in entries:
        f = root / entry["path"]
        if not f.is_file():
            problems.append(VerifyProblem(entry["path"], "missing"))
        elif f.stat().st_size != entry["size"]:
            problems.append(
                VerifyProblem(entry["path"], f"size {f.stat().st_size}, expected {entry['size']}")
            )
        elif full and file_sha256(f) != entry["sha256"]:
            problems.append(VerifyProblem(entry["path"], "sha256 differs from the manifest"))
    return problems
