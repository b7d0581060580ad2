"""Screenshots of a run's TensorBoard dashboards in headless Chromium (Debian package
``chromium``), to check what an engineer sees.

Usage::

    .venv/bin/python tools/tb_screenshots.py --logdir runs/quickstart/tb --out docs/tb

Starts ``tensorboard --logdir`` on a free port, loads each dashboard (Time series, Images,
HParams table) in ``chromium --headless`` and saves ``<out>/<dashboard>.png``; TensorBoard is
stopped afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DASHBOARDS = {"timeseries": "#timeseries", "images": "#images", "hparams": "#hparams",
              "scalars": "#scalars"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    """Start TensorBoard, screenshot each dashboard, stop it."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--logdir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", default="1600,1100", help="window size W,H")
    p.add_argument("--wait-ms", type=int, default=20000, help="virtual time for each page")
    args = p.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("tb_screenshots: no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    board = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir",
                              str(args.logdir), "--port", str(port), "--host", "127.0.0.1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(5)  # let it load the event files
        for name, anchor in DASHBOARDS.items():
            shot = args.out / f"{name}.png"
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                            "--hide-scrollbars", f"--window-size={args.size}",
                            f"--virtual-time-budget={args.wait_ms}", f"--screenshot={shot}",
                            url + anchor], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300)
            print(f"wrote {shot}")
    finally:
        board.terminate()
        board.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
