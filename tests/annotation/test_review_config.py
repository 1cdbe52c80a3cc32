"""The review section of the config: off by default (a build needs no server), a missing
token is a clear error before any work starts, bad settings name the field."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import ConfigError, load_config
from engine.pipeline import run_build
from tests.helpers import write_config

SYNTHETIC = [{"kind": "synthetic_cxr", "n_images": 4, "seed": 1, "image_size": 96}]


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def medsg(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medsg.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_review_is_off_by_default() -> None:
    assert load_config().review.enabled is False


def test_missing_token_is_an_error_before_any_work(tmp_path: Path) -> None:
    write_config(
        tmp_path / "c.yaml",
        SYNTHETIC,
        review={"enabled": True, "url": closed_port_url(), "token_env": "MEDSG_TEST_NO_TOKEN"},
    )
    env = {k: v for k, v in os.environ.items() if k != "MEDSG_TEST_NO_TOKEN"}
    for command in (["build", "--no-prefect"], ["build"], ["sync-reviews"]):
        run = medsg(*command, "--config", "c.yaml", "--out", "o", cwd=tmp_path, env=env)
        assert run.returncode == 2, run.stderr
        assert "$MEDSG_TEST_NO_TOKEN (review.token_env) is not set" in run.stderr
        assert "Traceback" not in run.stderr
        assert not (tmp_path / "o").exists()  # nothing was done


def test_unreachable_server_is_a_clear_error_after_bounded_retries(tmp_path: Path) -> None:
    url = closed_port_url()
    write_config(
        tmp_path / "c.yaml",
        SYNTHETIC,
        review={
            "enabled": True,
            "url": url,
            "token_env": "MEDSG_TEST_TOKEN",
            "document_root": str(tmp_path),
            "retries": 3,
            "backoff_s": 0.1,
        },
    )
    env = {**os.environ, "MEDSG_TEST_TOKEN": "some-token"}
    run = medsg(
        "sync-reviews", "--no-prefect", "--config", "c.yaml", "--out", "o", cwd=tmp_path, env=env
    )
    assert run.returncode == 2 and "no build in" in run.stderr  # nothing built yet: says so
    run = medsg("build", "--no-prefect", "--config", "c.yaml", "--out", "o", cwd=tmp_path, env=env)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"Label Studio at {url} did not answer" in run.stderr and "after 3 tries" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_build_with_review_off_needs_no_server(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "c.yaml",
        SYNTHETIC,
        review={"enabled": False, "url": closed_port_url(), "token_env": "MEDSG_TEST_NO_TOKEN"},
    )
    report = run_build(load_config(path), tmp_path / "out")
    assert report.stats["flow"]["records_published"] > 0 and report.review is None
    assert not (tmp_path / "out" / "review_metrics.json").exists()
    card = (tmp_path / "out" / "README.md").read_text()
    assert "Expert review was not enabled for this release" in card


@pytest.mark.parametrize(
    ("review", "field"),
    [
        ({"audit_share": 1.5}, "review.audit_share"),
        ({"url": "127.0.0.1:8089"}, "review.url"),
        ({"colour": "red"}, "review.colour"),
    ],
)
def test_bad_review_settings_name_the_field(tmp_path: Path, review: dict, field: str) -> None:
    path = write_config(tmp_path / "c.yaml", SYNTHETIC, review=review)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(path)


def test_images_outside_the_document_root_are_refused_before_work(tmp_path: Path) -> None:
    from engine.review import check_review_setup
    from shards.layout import BuildLayout

    path = write_config(
        tmp_path / "c.yaml",
        SYNTHETIC,
        review={"enabled": True, "token_env": "HOME", "document_root": str(tmp_path / "docs")},
    )
    with pytest.raises(ConfigError, match="not under the Label Studio document root"):
        check_review_setup(load_config(path), BuildLayout(tmp_path / "elsewhere"))
