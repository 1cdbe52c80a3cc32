"""The release folder is the project's only (issue 13, findings 3, 4 and 7): one writer at a
time (a lock naming its holder), a user's folder or a foreign manifest refused untouched,
only files of the verified previous manifest replaced, unlisted files reported by verify,
and a publish killed at any step recovered on the next run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.config import load_config
from engine.pipeline import run_build
from shards.manifest import verify
from tests.helpers import write_config

REPO = Path(__file__).resolve().parent.parent
PUBLISH_STEPS = ("journal", "manifest_aside", "old_aside", "new_in", "manifest_in", "cleanup")


def medsg(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "medsg.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def small_config(path: Path, n_images: int = 6, **extra) -> Path:
    return write_config(
        path, [{"kind": "synthetic_cxr", "n_images": n_images, "image_size": 96}], **extra
    )


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- finding 3: two builds into one --out ------------------------------------------------


SLOW_BUILD = """
import sys, time
import engine.pipeline as pipeline
finalize = pipeline.finalize
def slow_finalize(*args):  # holds the folder long enough for the second build to start
    time.sleep(float(sys.argv[1]))
    return finalize(*args)
pipeline.finalize = slow_finalize
from medsg.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_second_build_into_same_out_refuses_at_once_naming_the_lock(tmp_path: Path) -> None:
    """Finding 3. The first build is slowed before its publish step (this machine's imports
    alone take seconds), so that the second one starts while the first holds the folder."""
    cfg = small_config(tmp_path / "c.yaml", n_images=6)
    args = ["build", "--no-prefect", "--config", "c.yaml", "--out", "rel"]
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, "60", *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = tmp_path / "rel" / "_build" / "lock"
    deadline = time.monotonic() + 120
    while not lock.is_file() or not lock.read_text().strip():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    second = medsg(*args, cwd=tmp_path)
    out2, err2 = second.communicate(timeout=120)
    assert first.poll() is None, (second.returncode, err2)  # refused while the first runs
    assert second.returncode == 2 and out2 == "", err2  # at once: no build step ran
    assert f"is locked by pid {first.pid} on " in err2 and "started 20" in err2
    assert "Traceback" not in err2
    _, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1
    assert verify(tmp_path / "rel") == []
    run_build(load_config(cfg), tmp_path / "lone")
    assert (tmp_path / "rel" / "manifest.json").read_bytes() == (
        tmp_path / "lone" / "manifest.json"
    ).read_bytes()


def test_lock_held_refuses_in_process_and_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    from shards.lock import lock_path, release_lock  # (imported here: absent before issue 13)

    cfg = load_config(small_config(tmp_path / "c.yaml", n_images=3))
    out = tmp_path / "rel"
    with release_lock(out, "test holder"):
        code = (
            "from engine.config import load_config; from engine.pipeline import run_build;"
            f"run_build(load_config({str(tmp_path / 'c.yaml')!r}), {str(out)!r})"
        )
        run = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
        )
        assert run.returncode != 0 and "LockedError" in run.stderr
        assert f"pid {os.getpid()}" in run.stderr and "(test holder)" in run.stderr
    assert lock_path(out).read_text() == ""  # released cleanly
    stale = {"pid": 999999, "host": "gone", "started": "2026-01-01T00:00:00+00:00"}
    lock_path(out).write_text(json.dumps({**stale, "command": "medsg build"}))
    report = run_build(cfg, out)
    assert any("took over a stale lock" in n and "pid 999999" in n for n in report.notes)
    assert verify(out) == []


def test_lock_error_names_the_holder(tmp_path: Path) -> None:
    from shards.lock import release_lock

    code = (
        "from pathlib import Path; from shards.lock import release_lock\n"
        f"with release_lock(Path({str(tmp_path)!r}), 'second'):\n    print('got it')"
    )
    with release_lock(tmp_path, "first"):
        child = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=60,
        )
    assert child.returncode == 1 and "got it" not in child.stdout
    assert f"is locked by pid {os.getpid()} on " in child.stderr and "(first)" in child.stderr


# ---- finding 4: --out on a folder that is not ours ---------------------------------------


def test_out_on_a_users_folder_is_refused_and_left_untouched(tmp_path: Path) -> None:
    small_config(tmp_path / "c.yaml", n_images=3)
    mine = tmp_path / "mine"
    (mine / "grounding").mkdir(parents=True)
    (mine / "README.md").write_text("my notes\n")
    (mine / "grounding" / "labels.txt").write_text("my labels\n")
    (mine / "gallery.png").write_bytes(b"\x89PNG my picture")
    before = tree(mine)
    run = medsg("build", "--no-prefect", "--config", "c.yaml", "--out", "mine", cwd=tmp_path)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 2
    assert "not a medsg release" in err and "refused" in err and "README.md" in err
    assert "Traceback" not in err
    assert tree(mine) == before
    assert sorted(p.name for p in mine.iterdir()) == ["README.md", "gallery.png", "grounding"]


def test_foreign_manifest_is_refused_and_its_files_kept(tmp_path: Path) -> None:
    cfg = load_config(small_config(tmp_path / "c.yaml", n_images=3))
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "notes.txt").write_text("theirs")
    (out / "manifest.json").write_text(json.dumps({"files": [{"path": "notes.txt"}]}))
    with pytest.raises(ValueError, match="not a medsg manifest"):
        run_build(cfg, out)
    assert (out / "notes.txt").read_text() == "theirs"
    assert not (out / "_build").exists()


def test_dotdot_path_in_manifest_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    small_config(tmp_path / "c.yaml", n_images=3)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    rel = tmp_path / "rel"
    rel.mkdir()
    entry = {"path": "../outside.txt", "sha256": "0" * 64, "size": 8}
    manifest = {"name": "x", "config_version": "1", "dataset_version": "y", "files": [entry]}
    (rel / "manifest.json").write_text(json.dumps(manifest))
    run = medsg("build", "--no-prefect", "--config", "c.yaml", "--out", "rel", cwd=tmp_path)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 2 and "Traceback" not in err
    assert "'../outside.txt' leaves the release folder" in err
    assert outside.read_text() == "precious"
    check = medsg("verify", "rel", cwd=tmp_path)
    _, err = check.communicate(timeout=60)
    assert check.returncode == 1 and "leaves the release folder" in err
    assert "Traceback" not in err


def test_a_release_with_a_file_it_does_not_list_is_refused(tmp_path: Path) -> None:
    cfg = load_config(small_config(tmp_path / "c.yaml", n_images=3))
    out = tmp_path / "rel"
    run_build(cfg, out)
    (out / "grounding" / "my_notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"grounding/my_notes.txt: not listed in the manifest"):
        run_build(cfg, out)
    assert (out / "grounding" / "my_notes.txt").read_text() == "mine"
    assert verify(out) != []


def test_unchanged_rerun_into_the_same_release_republishes(tmp_path: Path) -> None:
    cfg = load_config(small_config(tmp_path / "c.yaml", n_images=3))
    out = tmp_path / "rel"
    first = run_build(cfg, out)
    manifest = (out / "manifest.json").read_bytes()
    second = run_build(cfg, out)
    assert second.dataset_version == first.dataset_version
    assert (out / "manifest.json").read_bytes() == manifest and verify(out) == []


# ---- finding 7: verify sees stale files; a crash during publish is recovered -------------


def test_verify_reports_files_the_manifest_does_not_list(tmp_path: Path) -> None:
    out = tmp_path / "rel"
    run_build(load_config(small_config(tmp_path / "c.yaml", n_images=3)), out)
    stale = out / "sequence" / "train" / "old-000000.tar"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"left over")
    problems = [str(p) for p in verify(out)]
    assert problems == ["sequence/train/old-000000.tar: not listed in the manifest"]


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory) -> dict[str, Path]:
    """Release A (with image-sequence records) and the config of B (without: whole config
    folders disappear), plus a lone build of B to compare against."""
    base = tmp_path_factory.mktemp("crash")
    cfg_a = small_config(base / "a.yaml", n_images=6)
    cfg_b = small_config(base / "b.yaml", n_images=4, records={"sequences": False})
    run_build(load_config(cfg_a), base / "a")
    run_build(load_config(cfg_b), base / "lone_b")
    return {"base": base, "a": base / "a", "cfg_b": cfg_b, "lone_b": base / "lone_b"}


KILLER = """
import os, signal, sys
import shards.publish as publish
step = sys.argv[3]
publish._step = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == step else None
from engine.config import load_config
from engine.pipeline import run_build
run_build(load_config(sys.argv[1]), sys.argv[2])
"""


@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_kill_9_at_each_publish_step_then_rerun(two_releases, step: str) -> None:
    from shards.publish import recover

    out = two_releases["base"] / f"killed_{step}"
    shutil.copytree(two_releases["a"], out)
    old_manifest = (out / "manifest.json").read_bytes()
    new_manifest = (two_releases["lone_b"] / "manifest.json").read_bytes()
    run = subprocess.run(
        [sys.executable, "-c", KILLER, str(two_releases["cfg_b"]), str(out), step],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert run.returncode == -9, run.stderr
    # the previous release is recoverable (the new one when only the cleanup was left)
    note = recover(out, out / "_build" / "trash")
    if step == "journal":  # killed before the journal was written: nothing had moved
        assert note is None
    else:
        assert note is not None and "interrupted publish" in note
    assert verify(out) == []
    expected = new_manifest if step == "cleanup" else old_manifest
    assert (out / "manifest.json").read_bytes() == expected
    # and a rerun publishes B: it verifies and holds nothing outside its manifest
    report = run_build(load_config(two_releases["cfg_b"]), out)
    assert verify(out) == []
    assert (out / "manifest.json").read_bytes() == new_manifest
    assert report.dataset_version == json.loads(new_manifest)["dataset_version"]
    assert not (out / "sequence").exists()
    assert not (out / "_build" / "trash").exists()


@pytest.mark.parametrize("step", ("old_aside", "new_in"))
def test_rerun_right_after_a_kill_recovers_by_itself(two_releases, step: str) -> None:
    out = two_releases["base"] / f"rerun_{step}"
    shutil.copytree(two_releases["a"], out)
    run = subprocess.run(
        [sys.executable, "-c", KILLER, str(two_releases["cfg_b"]), str(out), step],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert run.returncode == -9, run.stderr
    assert verify(out) != []  # mid-publish: nothing verifies
    report = run_build(load_config(two_releases["cfg_b"]), out)
    assert verify(out) == []
    assert any("interrupted publish was rolled back" in n for n in report.notes)
    assert (out / "manifest.json").read_bytes() == (
        two_releases["lone_b"] / "manifest.json"
    ).read_bytes()
