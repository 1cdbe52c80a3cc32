"""An in-memory stand-in for the few Label Studio endpoints push and pull use, as an httpx
transport, for unit tests of the adapter's own logic (retries, reconciliation). The real
server is tested in test_label_studio.py; this fake only lets failures be injected."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx


class FakeLabelStudio:
    def __init__(self) -> None:
        self.projects: dict[int, dict] = {}
        self.tasks: dict[int, dict] = {}
        self.storages: list[dict] = []
        self.calls: list[str] = []
        self.task_queries: list[dict | None] = []  # the Data Manager query of each tasks read
        self.ids = iter(range(1, 10**6))
        # (method, path prefix) -> callables run before the request; one may return a
        # response (a failure) or raise (a timeout); applied=True runs the request first.
        self.faults: list[tuple[str, str, Callable, bool]] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(
        self, method: str, prefix: str, times: int, *, status=503, timeout=False, applied=False
    ):
        left = [times]

        def fault(request):
            if left[0] <= 0:
                return None
            left[0] -= 1
            if timeout:
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(status, text="upstream trouble")

        self.faults.append((method, prefix, fault, applied))

    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        self.calls.append(f"{method} {path}")
        for m, prefix, fault, applied in self.faults:
            if m == method and path.startswith(prefix):
                if applied:
                    response = self.route(request)
                    failure = fault(request)
                    return failure or response
                failure = fault(request)
                if failure is not None:
                    return failure
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        method, path, params = request.method, request.url.path, request.url.params
        body = json.loads(request.content) if request.content else None
        if request.headers.get("Authorization") != "Token good":
            return httpx.Response(401, json={"detail": "Invalid token."})
        if path == "/api/current-user/whoami":
            return httpx.Response(200, json={"id": 1, "email": "admin@x"})
        if path == "/api/projects" and method == "GET":
            return httpx.Response(200, json={"results": list(self.projects.values()), "next": None})
        if path == "/api/projects" and method == "POST":
            pid = next(self.ids)
            self.projects[pid] = {"id": pid, **body}
            return httpx.Response(201, json=self.projects[pid])
        if path.startswith("/api/projects/") and path.endswith("/import"):
            pid = int(path.split("/")[3])
            for t in body:
                tid = next(self.ids)
                preds = [{"id": next(self.ids), **p} for p in t.get("predictions", [])]
                self.tasks[tid] = {
                    "id": tid,
                    "project": pid,
                    "data": t["data"],
                    "predictions": preds,
                    "annotations": [],
                    "total_annotations": 0,
                }
            return httpx.Response(201, json={"task_count": len(body)})
        if path.startswith("/api/projects/") and method == "PATCH":
            self.projects[int(path.split("/")[3])].update(body)
            return httpx.Response(200, json={})
        if path == "/api/storages/localfiles":
            if method == "POST":
                self.storages.append(body)
                return httpx.Response(201, json=body)
            return httpx.Response(
                200, json=[s for s in self.storages if s["project"] == int(params["project"])]
            )
        if path == "/api/tasks":
            query = params.get("query")
            self.task_queries.append(json.loads(query) if query else None)
            rows = sorted(
                (t for t in self.tasks.values() if t["project"] == int(params["project"])),
                key=lambda t: t["id"],
            )
            size, page = int(params["page_size"]), int(params["page"])
            chunk = rows[(page - 1) * size : page * size]
            if page > 1 and not chunk:
                return httpx.Response(404, json={"detail": "Invalid page."})
            return httpx.Response(200, json={"tasks": chunk, "total": len(rows)})
        if path.startswith("/api/tasks/") and method == "PATCH":
            self.tasks[int(path.split("/")[3])]["data"] = body["data"]
            return httpx.Response(200, json={})
        if path == "/api/predictions" and method == "POST":
            task = self.tasks[body.pop("task")]
            task["predictions"].append({"id": next(self.ids), **body})
            return httpx.Response(201, json={})
        if path.startswith("/api/predictions/") and method == "DELETE":
            pid = int(path.split("/")[3])
            for t in self.tasks.values():
                t["predictions"] = [p for p in t["predictions"] if p["id"] != pid]
            return httpx.Response(204)
        return httpx.Response(404, text="<html>not found</html>")
