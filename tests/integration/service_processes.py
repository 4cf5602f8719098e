"""The ledger and the projector as the processes operators run (uvicorn, as the stack and the image start them)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from services.devstack.processes import free_port, start_child, stop_child, tail

FACTORIES = {
    "ledger": "services.ledger.entrypoints.http.app:create_app",
    "projector": "services.projector.http:create_app",
}


@contextmanager
def service(name: str, env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `name` with `env` on a free port, wait until /health answers, yield (url, process); stop it by PID."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", FACTORIES[name], "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--timeout-graceful-shutdown", "10"]  # as the stack and the image: open downloads end
    process = start_child(argv, log_path=log, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the {name} exited:\n{tail(log)}"
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the {name} never answered /health:\n{tail(log)}"
            time.sleep(0.2)
        yield url, process
    finally:
        stop_child(process)
