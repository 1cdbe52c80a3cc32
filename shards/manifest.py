"""The release manifest: sha256 and size of every published file, and a dataset version that
is the hash of them all (same files, same version). ``verify`` checks a release against it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
BUILD_DIR = "_build"  # private build state beside a release, never listed, never published
_CHUNK = 1 << 20


class ManifestError(ValueError):
    """A manifest that is not one of ours: unreadable, wrong shape, or a path that leaves the
    release folder (absolute, ``..``); the message names the manifest and the entry."""


def safe_relative(rel: object) -> bool:
    """A manifest path that stays inside the release: relative, '/'-separated, no ``..``,
    ``.`` or empty parts, not under ``_build``."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return False
    parts = rel.split("/")
    return not (
        rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == BUILD_DIR
    )


def read_manifest(root: Path) -> dict:
    """The manifest of release ``root``, checked to be one of ours: a mapping with name,
    config_version, dataset_version and files, each file a safe relative path with sha256 and
    size. Raises ``FileNotFoundError`` when there is none, ``ManifestError`` otherwise."""
    path = root / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise ManifestError(f"{path}: not a medsg manifest (no 'files' list)")
    missing = [k for k in ("name", "config_version", "dataset_version") if k not in manifest]
    if missing:
        raise ManifestError(f"{path}: not a medsg manifest (no {', '.join(missing)})")
    for i, entry in enumerate(manifest["files"]):
        if not isinstance(entry, dict) or not {"path", "sha256", "size"} <= entry.keys():
            raise ManifestError(f"{path}: files[{i}] lacks path, sha256 or size")
        if not safe_relative(entry["path"]):
            raise ManifestError(
                f"{path}: files[{i}] path {entry['path']!r} leaves the release folder "
                "(absolute, '..', or under _build): refused"
            )
    return manifest


def unlisted_files(root: Path, listed: set[str]) -> list[str]:
    """Files (and links) under release ``root`` that its manifest does not list, outside
    ``_build`` and the manifest itself, sorted."""
    extra = []
    if not root.is_dir():
        return extra
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != BUILD_DIR]
        for name in (*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel != MANIFEST and rel not in listed:
                extra.append(rel)
    return sorted(extra)


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
    """Every way the files under root differ from root/manifest.json (empty: all good): files
    missing or changed, and files the manifest does not list (outside ``_build``).
    ``full=False`` compares sizes only (fast, for cache checks)."""
    try:
        manifest = read_manifest(root)
    except FileNotFoundError:
        return [VerifyProblem(MANIFEST, "missing")]
    except ManifestError as exc:
        return [VerifyProblem(MANIFEST, str(exc))]
    entries = manifest["files"]
    problems = []
    for entry in entries:
        f = root / entry["path"]
        if f.is_symlink() or not f.is_file():
            problems.append(VerifyProblem(entry["path"], "missing"))
        elif f.stat().st_size != entry["size"]:
            problems.append(
                VerifyProblem(entry["path"], f"size {f.stat().st_size}, expected {entry['size']}")
            )
        elif full and file_sha256(f) != entry["sha256"]:
            problems.append(VerifyProblem(entry["path"], "sha256 differs from the manifest"))
    for rel in unlisted_files(root, {e["path"] for e in entries}):
        problems.append(VerifyProblem(rel, "not listed in the manifest"))
    return problems
