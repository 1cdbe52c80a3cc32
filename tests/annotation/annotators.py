"""Annotators for tests against a real Label Studio: each joins the organisation through the
admin's invite link and logs in (as a person would, through the web forms), then reviews
tasks through the REST API with their own token."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from schemas.boxes import Box


@dataclass
class Annotator:
    url: str
    email: str
    token: str

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Token {self.token}"}, timeout=30
        )

    def review(
        self,
        task: dict,
        decision: str,
        boxes: list[tuple[str, Box]] | None = None,
        reason: str | None = None,
        comment: str | None = None,
        image: str = "image",
        tool: str = "box",
    ) -> dict:
        """Submit an annotation of ``task``: a decision, boxes as (slot, canonical box) on
        the task's image, a rejection reason and a comment. Returns the created annotation."""
        prediction = (task.get("predictions") or [{}])[0].get("result") or [{}]
        width = prediction[0].get("original_width", 100)
        height = prediction[0].get("original_height", 100)
        result = [
            {
                "from_name": "decision",
                "to_name": image,
                "type": "choices",
                "value": {"choices": [decision]},
            }
        ]
        for i, (slot, box) in enumerate(boxes or []):
            result.append(
                {
                    "id": f"r{i}",
                    "from_name": tool,
                    "to_name": image,
                    "type": "rectanglelabels",
                    "original_width": width,
                    "original_height": height,
                    "image_rotation": 0,
                    "value": {**box.to_label_studio(), "rectanglelabels": [slot]},
                }
            )
        if reason:
            result.append(
                {
                    "from_name": "reason",
                    "to_name": image,
                    "type": "choices",
                    "value": {"choices": [reason]},
                }
            )
        if comment:
            result.append(
                {
                    "from_name": "comment",
                    "to_name": image,
                    "type": "textarea",
                    "value": {"text": [comment]},
                }
            )
        with self._client() as c:
            r = c.post(f"/api/tasks/{task['id']}/annotations/", json={"result": result})
            r.raise_for_status()
            return r.json()

    def edit(self, annotation_id: int, result: list[dict]) -> dict:
        with self._client() as c:
            r = c.patch(f"/api/annotations/{annotation_id}/", json={"result": result})
            r.raise_for_status()
            return r.json()


def join(url: str, admin_token: str, email: str, password: str) -> Annotator:
    """Sign up through the organisation's invite link, log in, and read the user's token."""
    admin = {"Authorization": f"Token {admin_token}"}
    invite = httpx.get(f"{url}/api/invite", headers=admin, timeout=30).json()["invite_url"]
    with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as web:
        web.get(invite).raise_for_status()
        form = {"email": email, "password": password}
        r = web.post(
            invite,
            data={**form, "csrfmiddlewaretoken": web.cookies.get("csrftoken", "")},
            headers={"Referer": url + invite},
        )
        r.raise_for_status()
        token = web.get("/api/current-user/token")
        if token.status_code != 200:  # already signed up (a rerun): log in instead
            web.get("/user/login/")
            web.post(
                "/user/login/",
                data={**form, "csrfmiddlewaretoken": web.cookies.get("csrftoken", "")},
                headers={"Referer": url + "/user/login/"},
            ).raise_for_status()
            token = web.get("/api/current-user/token")
        token.raise_for_status()
        return Annotator(url, email, token.json()["token"])


def project_tasks(url: str, admin_token: str, title: str) -> list[dict]:
    """Every task of the project with this title (data, predictions, annotations)."""
    admin = {"Authorization": f"Token {admin_token}"}
    with httpx.Client(base_url=url, headers=admin, timeout=60) as c:
        projects = c.get("/api/projects", params={"page_size": 1000}).json()["results"]
        pid = next(p["id"] for p in projects if p["title"] == title)
        tasks, page = [], 1
        while True:
            r = c.get(
                "/api/tasks",
                params={"project": pid, "fields": "all", "page": page, "page_size": 100},
            )
            if r.status_code == 404:
                return tasks
            rows = r.json()["tasks"] if isinstance(r.json(), dict) else r.json()
            tasks += rows
            if len(rows) < 100:
                return tasks
            page += 1
