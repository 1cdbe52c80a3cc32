"""The HTTP adapter's failure handling: bounded retries with backoff on what retrying can
fix, immediate clear errors on what it cannot, no blind retry of a write whose outcome is
unknown; and push reconciliation that never duplicates a task (fake transport), plus a real
closed port for "server down"."""

from __future__ import annotations

import socket
import time

import pytest

from annotation.client import LabelStudioClient, ReviewServerError, UnsureWriteError
from annotation.push import TaskSpec, reconcile
from tests.annotation.fake_server import FakeLabelStudio


class Ledgerless:
    def upsert(self, review) -> str:
        return "added"


def client_for(fake: FakeLabelStudio, token: str = "good", retries: int = 4):
    sleeps: list[float] = []
    client = LabelStudioClient(
        "http://ls.test",
        token,
        token_env="MY_TOKEN",
        retries=retries,
        backoff=0.5,
        transport=fake.transport(),
        sleep=sleeps.append,
    )
    return client, sleeps


def test_5xx_and_timeouts_are_retried_with_exponential_backoff() -> None:
    fake = FakeLabelStudio()
    fake.fail("GET", "/api/current-user/whoami", 2, status=502)
    fake.fail("GET", "/api/projects", 1, timeout=True)
    client, sleeps = client_for(fake)
    assert client.check()["email"] == "admin@x"
    assert client.projects() == []
    assert sleeps == [0.5, 1.0, 0.5]


def test_retries_are_bounded_and_the_error_says_what_to_check() -> None:
    fake = FakeLabelStudio()
    fake.fail("GET", "/api/current-user/whoami", 99, status=500)
    client, sleeps = client_for(fake, retries=3)
    with pytest.raises(ReviewServerError) as err:
        client.check()
    assert sleeps == [0.5, 1.0]
    message = str(err.value)
    assert "http://ls.test" in message and "after 3 tries" in message and "HTTP 500" in message
    assert "scripts/label_studio.sh status" in message


def test_401_is_not_retried_and_names_the_token_variable() -> None:
    client, sleeps = client_for(FakeLabelStudio(), token="wrong")
    with pytest.raises(ReviewServerError, match=r"refused the API token \(HTTP 401.*\$MY_TOKEN"):
        client.check()
    assert sleeps == []


def test_other_4xx_show_the_servers_answer() -> None:
    client, _ = client_for(FakeLabelStudio())
    with pytest.raises(ReviewServerError, match="HTTP 404 to GET /api/nothing: Not Found"):
        client.request("GET", "/api/nothing")


def test_a_write_with_unknown_outcome_is_not_retried_blindly() -> None:
    fake = FakeLabelStudio()
    fake.fail("POST", "/api/projects", 1, timeout=True)
    client, sleeps = client_for(fake)
    with pytest.raises(UnsureWriteError, match="may or may not have been applied"):
        client.create_project("p", "<View/>")
    assert sleeps == [] and fake.calls.count("POST /api/projects") == 1


def specs(n: int, version: str = "v1") -> list[TaskSpec]:
    return [
        TaskSpec(
            f"rec-{i}",
            {"record_id": f"rec-{i}", "weak_hash": f"{version}-{i}", "image": f"/img/{i}"},
            {
                "model_version": "x@1",
                "score": 0.5,
                "result": [{"from_name": "box", "value": {"x": i}}],
            },
            "audit",
        )
        for i in range(n)
    ]


def test_reconcile_creates_once_even_when_the_import_answer_is_lost() -> None:
    fake = FakeLabelStudio()
    fake.projects[1] = {"id": 1, "title": "p"}
    fake.fail("POST", "/api/projects/1/import", 1, status=504, applied=True)  # done, answer lost
    client, _ = client_for(fake)
    counts, ids = reconcile(client, 1, "p", specs(150), Ledgerless())
    assert len(fake.tasks) == 150 and counts["created"] == 150
    assert sorted(ids) == sorted(f"rec-{i}" for i in range(150))
    again, _ = reconcile(client, 1, "p", specs(150), Ledgerless())
    assert again == {
        "created": 0,
        "updated": 0,
        "unchanged": 150,
        "duplicates": 0,
        "reviews_kept": 0,
    }
    assert len(fake.tasks) == 150


def test_reconcile_updates_a_changed_weak_label_in_place() -> None:
    fake = FakeLabelStudio()
    fake.projects[1] = {"id": 1, "title": "p"}
    client, _ = client_for(fake)
    reconcile(client, 1, "p", specs(3), Ledgerless())
    changed = specs(3, version="v2")
    changed[0].prediction = {**changed[0].prediction, "score": 0.9}
    counts, _ = reconcile(client, 1, "p", changed, Ledgerless())
    assert (counts["created"], counts["updated"]) == (0, 3)
    assert len(fake.tasks) == 3
    first = min(fake.tasks.values(), key=lambda t: t["id"])
    assert first["data"]["weak_hash"] == "v2-0" and [p["score"] for p in first["predictions"]] == [
        0.9
    ]


def test_a_server_that_is_down_is_a_clear_error_after_bounded_retries() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = LabelStudioClient(f"http://127.0.0.1:{port}", "t", retries=3, backoff=0.2, timeout=2)
    started = time.monotonic()
    with pytest.raises(ReviewServerError) as err:
        client.check()
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 10  # waited 0.2 + 0.4 between the 3 tries, then gave up
    message = str(err.value)
    assert f"http://127.0.0.1:{port}" in message and "after 3 tries" in message
    assert "cannot connect" in message and "running and reachable" in message
    assert err.value.__cause__ is None  # one clear message, not a chain of tracebacks
