"""A thin adapter over Label Studio's REST API (the open-source server, 1.23), through httpx.

Why not the generated SDK client: label-studio-sdk 2.x types its answers with the
Enterprise models (warnings on open-source answers) and retries behind the caller's back;
here every call is one documented endpoint, and failures are ours to classify:

- server down, timeouts, HTTP 429 and 5xx: retried with exponential backoff, a bounded number
  of tries (``retries``), then ``ReviewServerError`` naming the URL and what to check;
- a write whose outcome is unknown (timeout or 5xx after the request was sent) is *not*
  retried blindly, which could duplicate a task: ``UnsureWriteError`` goes to the caller,
  which reads the server's state again before trying once more (``annotation.push``);
- HTTP 401 / 403: no retry, an error that says which token variable to check;
- other 4xx: no retry, the server's answer in the error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

PAGE_SIZE = 100
MAX_BACKOFF_S = 30.0


class ReviewServerError(RuntimeError):
    """Label Studio could not do what was asked; the message names the URL and what to check."""


class UnsureWriteError(ReviewServerError):
    """A write that may or may not have happened (timeout or 5xx after sending)."""


class LabelStudioClient:
    """The calls the review push and pull make, with bounded retries and clear errors."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        token_env: str = "LABEL_STUDIO_API_KEY",
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.token_env = token_env
        self.retries = max(1, retries)
        self.backoff = backoff
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the one place requests are made ------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict | None = None,
        write: bool = False,
        missing_ok: bool = False,
    ) -> Any:
        """One API call. ``write``: a non-idempotent write (POST), not retried once sent.
        ``missing_ok``: HTTP 404 returns None."""
        what = f"{method} {path}"
        started = time.monotonic()
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                response = self.http.request(method, path, json=json_body, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = f"cannot connect ({exc.__class__.__name__}: {exc})"  # nothing was sent
            except httpx.TransportError as exc:
                last = f"no answer ({exc.__class__.__name__}: {exc or 'timed out'})"
                if write:
                    raise UnsureWriteError(self._unsure(what, last)) from None
            else:
                status = response.status_code
                if status in (401, 403):
                    raise ReviewServerError(
                        f"Label Studio at {self.url} refused the API token (HTTP {status} on "
                        f"{what}): check that ${self.token_env} holds a valid token of that "
                        "server (scripts/label_studio.sh env prints the local one)"
                    )
                if status == 404 and missing_ok:
                    return None
                if status == 429 or status >= 500:
                    last = f"HTTP {status}: {_excerpt(response)}"
                    if write:
                        raise UnsureWriteError(self._unsure(what, last))
                elif status >= 400:
                    raise ReviewServerError(
                        f"Label Studio at {self.url} answered HTTP {status} to {what}: "
                        f"{_excerpt(response)}"
                    )
                else:
                    return response.json() if response.content else None
            if attempt < self.retries:
                self.sleep(min(MAX_BACKOFF_S, self.backoff * 2 ** (attempt - 1)))
        raise ReviewServerError(
            f"Label Studio at {self.url} did not answer {what} after {self.retries} tries "
            f"over {time.monotonic() - started:.1f} s (last: {last}). Check that the server "
            "is running and reachable at review.url (scripts/label_studio.sh status; its log "
            "is server.log in the state folder)"
        )

    def _unsure(self, what: str, last: str) -> str:
        return (
            f"Label Studio at {self.url}: {what} may or may not have been applied ({last}); "
            "the server's state is read again before retrying"
        )

    # ---- reads --------------------------------------------------------------------------
    def check(self) -> dict:
        """Reachable, and the token works: the token's user."""
        return self.request("GET", "/api/current-user/whoami")

    def projects(self) -> list[dict]:
        out, page = [], 1
        while True:
            body = self.request(
                "GET", "/api/projects", params={"page": page, "page_size": PAGE_SIZE}
            )
            if isinstance(body, list):
                return body
            out += body.get("results", [])
            if not body.get("next"):
                return out
            page += 1

    def local_storages(self, project: int) -> list[dict]:
        return self.request("GET", "/api/storages/localfiles", params={"project": project})

    def users(self) -> dict[int, str]:
        """User id -> login (email)."""
        body = self.request("GET", "/api/users")
        rows = body.get("results", []) if isinstance(body, dict) else body
        return {int(u["id"]): u.get("email") or u.get("username") or str(u["id"]) for u in rows}

    def iter_tasks(self, project: int, *, filters: list[dict] | None = None) -> Iterator[dict]:
        """Every task of a project with its data, predictions and annotations. ``filters``
        are Data Manager filter items (joined with AND)."""
        params: dict = {"project": project, "fields": "all", "page_size": PAGE_SIZE}
        if filters:
            params["query"] = json.dumps({"filters": {"conjunction": "and", "items": filters}})
        page = 1
        while True:
            body = self.request(
                "GET", "/api/tasks", params={**params, "page": page}, missing_ok=True
            )
            if body is None:  # "Invalid page": past the last one
                return
            rows = body.get("tasks", []) if isinstance(body, dict) else body
            yield from rows
            if len(rows) < PAGE_SIZE:
                return
            page += 1

    # ---- writes -------------------------------------------------------------------------
    def create_project(self, title: str, label_config: str) -> dict:
        return self.request(
            "POST",
            "/api/projects",
            json_body={"title": title, "label_config": label_config},
            write=True,
        )

    def update_project(self, project: int, **fields: Any) -> dict:
        return self.request("PATCH", f"/api/projects/{project}", json_body=fields)

    def create_local_storage(self, project: int, path: str, title: str) -> dict:
        return self.request(
            "POST",
            "/api/storages/localfiles",
            json_body={"project": project, "path": path, "title": title, "use_blob_urls": False},
            write=True,
        )

    def import_tasks(self, project: int, tasks: list[dict]) -> dict:
        return self.request("POST", f"/api/projects/{project}/import", json_body=tasks, write=True)

    def update_task_data(self, task: int, data: dict) -> dict:
        return self.request("PATCH", f"/api/tasks/{task}", json_body={"data": data})

    def create_prediction(self, task: int, prediction: dict) -> dict:
        return self.request(
            "POST", "/api/predictions", json_body={"task": task, **prediction}, write=True
        )

    def delete_prediction(self, prediction: int) -> None:
        self.request("DELETE", f"/api/predictions/{prediction}", missing_ok=True)


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    if text.startswith("<"):  # an HTML error page
        return f"{response.reason_phrase} (HTML page)"
    return text[:300]
