"""Open a task's labeling page in headless Chromium, as a reviewer would, and report what is
rendered: whether the task's image loaded, how many regions (pre-annotated boxes) the
labeling interface shows, and whether the box outline is drawn on the canvas. Saves a
screenshot. Runs with the Label Studio environment's Python (playwright lives there):

    .venv-labelstudio/bin/python scripts/ls_screenshot.py --url http://127.0.0.1:8089 \\
        --project 1 --task 1 --out shot.png   # login from MEDSG_LS_ADMIN_EMAIL / _PASSWORD

Prints one JSON object; exits 1 when the image or the box is not rendered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Pixels of the image area whose colour is the answer slot's outline (#e53935), counted
# in the page after the labeling canvas has drawn.
COUNT_OUTLINE = """
(colour) => {
  let hits = 0;
  for (const canvas of document.querySelectorAll('canvas')) {
    let ctx;
    try { ctx = canvas.getContext('2d'); } catch (e) { continue; }
    if (!ctx || !canvas.width || !canvas.height) continue;
    let data;
    try { data = ctx.getImageData(0, 0, canvas.width, canvas.height).data; } catch (e) { continue; }
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - colour[0]) < 40 && Math.abs(data[i + 1] - colour[1]) < 40 &&
          Math.abs(data[i + 2] - colour[2]) < 40 && data[i + 3] > 100) hits++;
    }
  }
  return hits;
}
"""

IMAGE_STATE = """
() => Array.from(document.querySelectorAll('img'))
  .filter(i => i.src.includes('/data/local-files/'))
  .map(i => ({src: i.src, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--project", type=int, required=True)
    ap.add_argument("--task", type=int, required=True)
    ap.add_argument("--out", required=True, help="screenshot PNG path")
    ap.add_argument("--timeout", type=float, default=90.0)
    args = ap.parse_args()
    email = os.environ["MEDSG_LS_ADMIN_EMAIL"]
    password = os.environ["MEDSG_LS_ADMIN_PASSWORD"]
    report: dict = {"page": f"{args.url}/projects/{args.project}/data?task={args.task}"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(args.timeout * 1000)
            page.goto(f"{args.url}/user/login/")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(report["page"])
            deadline = time.monotonic() + args.timeout
            images, outline = [], 0
            while time.monotonic() < deadline:
                images = page.evaluate(IMAGE_STATE)
                loaded = [i for i in images if i["complete"] and i["w"] > 0]
                outline = page.evaluate(COUNT_OUTLINE, [0xE5, 0x39, 0x35]) if loaded else 0
                if loaded and outline > 0:
                    break
                time.sleep(1.0)
            time.sleep(1.0)  # let the canvas settle before the picture
            page.screenshot(path=args.out, full_page=True)
            report.update(
                images=images,
                image_loaded=any(i["complete"] and i["w"] > 0 for i in images),
                outline_pixels=outline,
                regions_panel="answer" in (page.inner_text("body") or ""),
                screenshot=args.out,
            )
        finally:
            browser.close()
    print(json.dumps(report))
    return 0 if report["image_loaded"] and report["outline_pixels"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
