"""A real Prefect server for the operations tests (schedules, deployments, the UI).

The ephemeral server the other tests use refuses schedules, and has no UI; this starts
`prefect server start --host 127.0.0.1` on a free port with its own home and database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrefectServer:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/api"
        self.proc: subprocess.Popen | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a client of this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(PREFECT_HOME=str(self.home / "home"), PREFECT_API_URL=self.api,
                   PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_RUNNER_POLL_FREQUENCY="2",
                   **extra)
        return env

    def start(self, timeout: float = 150) -> None:
        prefect = str(Path(sys.executable).parent / "prefect")
        env = self.env(PREFECT_API_DATABASE_CONNECTION_URL=(
            f"sqlite+aiosqlite:///{self.home / 'prefect.db'}"), PREFECT_UI_API_URL=self.api)
        env.pop("PREFECT_API_URL")
        log = open(self.home / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("prefect server exited: "
                                   + (self.home / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError("prefect server did not come up in time")

    def post(self, path: str, body: dict) -> list | dict:
        r = httpx.post(f"{self.api}{path}", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
