"""Screenshots of `mlflow ui` as a fresh browser shows it, for docs/screens/ (docs/mlflow.md).

    .venv/bin/python workflow/scripts/mlflow_screens.py --out docs/screens

1. Copies the project to a temporary folder (tests/project_copy.py) and runs the small DAG there
   three times, as a user would: plain, with a config change (timing.max_time_s), and with the
   planted CPU slowdown (reference.extra_work: a plugin change). Each logs a parent run into the
   copy's sqlite store. (--project DIR: the copy goes there and is kept; a copy made before is
   reused and runs nothing.)
2. Starts `mlflow ui` on that store (127.0.0.1, a free port).
3. Opens headless Chromium with an empty profile (a fresh browser: nothing in localStorage) through
   its DevTools protocol, loads each page, waits until the page's text shows what it is waiting
   for (MLflow's UI renders after the load event, so `chromium --screenshot` alone catches its
   loading skeleton), and saves a PNG: mlflow-home-fresh.png (the server's root, what `mlflow ui`'s
   address opens) and mlflow-runs.png (the address `make ui` prints: tracking.runs_url).
4. Shrinks each PNG with pngquant when it is installed (the docs keep screenshots small), and
   prints each page's visible text so the caller can check what the screenshot shows.

Needs chromium (apt-get install chromium) and, optionally, pngquant. Runs on the CPU; minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "tests"))

from project_copy import copy_project  # noqa: E402
from trt_plugin_bench.report.tracking import runs_url  # noqa: E402

SMALL = "tests/configs/small.yaml"
# the three runs a newcomer's first hour makes: plain, a config change, a plugin change (planted slowdown)
RUNS: tuple[tuple[str, ...], ...] = ((), ("--config", "set=timing.max_time_s=0.03"), ("slow.yaml",))
WINDOW = (1920, 1000)
MAX_BYTES = 150_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_dags(project: Path) -> None:
    (project / "slow.yaml").write_text("reference: {extra_work: 3}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    # a commit of the copy, as a clone has one (the runs' tpb.git_commit)
    for git in (["init", "-q"], ["add", "-A"], ["-c", "user.name=screens", "-c", "user.email=screens@localhost",
                                                 "commit", "-qm", "the project, copied"]):
        subprocess.run(["git", *git], cwd=project, check=True)
    for extra in RUNS:
        configfiles = [SMALL, *(a for a in extra if a.endswith(".yaml"))]
        rest = [a for a in extra if not a.endswith(".yaml")]
        cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", *configfiles, *rest]
        print("$", " ".join(cmd), flush=True)
        started = time.time()
        subprocess.run(cmd, cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  {time.time() - started:.0f} s", flush=True)


def wait_http(url: str, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


async def screenshot(chromium: str, url: str, wait_for: str, out: Path, timeout_s: float = 300) -> str:
    """``url`` in a fresh headless Chromium; once the page's text contains ``wait_for`` (and a few seconds
    more for the rest to render), a PNG of the window to ``out``. Returns the page's text."""
    import aiohttp

    port = free_port()
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--hide-scrollbars", f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
                                 f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/json/version", 120)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as resp:
                page = next(t for t in json.load(resp) if t["type"] == "page")
            async with aiohttp.ClientSession() as session, session.ws_connect(page["webSocketDebuggerUrl"],
                                                                              max_msg_size=0) as ws:
                ids = iter(range(1, 1 << 30))

                async def call(method: str, **params: object) -> dict:
                    msg_id = next(ids)
                    await ws.send_json({"id": msg_id, "method": method, "params": params})
                    async for msg in ws:
                        data = json.loads(msg.data)
                        if data.get("id") == msg_id:
                            if "error" in data:
                                raise RuntimeError(f"{method}: {data['error']}")
                            return data["result"]
                    raise RuntimeError("the browser closed the connection")

                await call("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                           deviceScaleFactor=1, mobile=False)
                await call("Page.navigate", url=url)
                deadline, text = time.time() + timeout_s, ""
                while time.time() < deadline:
                    result = await call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
                    text = result["result"].get("value", "")
                    if wait_for in text:
                        break
                    await asyncio.sleep(2)
                else:
                    print(f"warning: {url}: {wait_for!r} not shown within {timeout_s:.0f} s; screenshot taken anyway")
                await asyncio.sleep(8)  # the rest of the page (columns, charts) settles
                text = (await call("Runtime.evaluate", expression="document.body.innerText"))["result"].get("value", "")
                shot = await call("Page.captureScreenshot", format="png")
                out.write_bytes(base64.b64decode(shot["data"]))
                return text
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def shrink(path: Path) -> None:
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality", "60-90", "--output", str(path), str(path)],
                       check=False)
    size = path.stat().st_size
    print(f"{path}: {size} bytes" + ("" if size <= MAX_BYTES else f" (over {MAX_BYTES}: shrink it before committing)"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    parser.add_argument("--project", type=Path, help="where the project copy goes (default: a temporary folder); "
                        "a copy made before, with its mlflow.db, is reused and runs no DAG")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = args.project or Path(tmp) / "project"
        if not (project / "mlflow.db").is_file():
            copy_project(project)
            run_dags(project)
        store = f"sqlite:///{project / 'mlflow.db'}"
        from mlflow.tracking import MlflowClient

        experiment = MlflowClient(tracking_uri=store).get_experiment_by_name("trt-plugin-bench-small")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(Path(sys.executable).parent / "mlflow"), "ui", "--host", "127.0.0.1", "--port",
                                   str(port), "--backend-store-uri", store], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_http(f"{base}/health", 600)
            args.out.mkdir(parents=True, exist_ok=True)
            pages = (("mlflow-home-fresh.png", f"{base}/", "trt-plugin-bench-small"),
                     ("mlflow-runs.png", runs_url(experiment.experiment_id, base), "first run"))
            for name, url, wait_for in pages:
                text = asyncio.run(screenshot(args.chromium, url, wait_for, args.out / name))
                print(f"== {name}: {url}\n{text[:1500]}\n")
                shrink(args.out / name)
        finally:
            server.terminate()
            server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
