"""Child processes that die with their parent, are stopped by their own PID, and free loopback ports."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


class MissingToolError(RuntimeError):
    """A program the local infrastructure needs is not installed; the message says how to get it."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # Linux only: the kernel sends SIGTERM to the child when the thread that started it exits,
    # so a test run killed with SIGKILL leaves no broker or database behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` with stdout and stderr appended to `log_path`; it gets SIGTERM if this process dies.

    The child runs in a session of its own, so a Ctrl-C in the terminal reaches only this process,
    which then stops its children in order. Call it from the main thread: the kernel ties the
    child's life to the starting thread.
    """
    preexec: Callable[[], None] | None = _die_with_parent if os.uname().sysname == "Linux" else None
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            user=user,
            cwd=cwd,
            preexec_fn=preexec,  # noqa: PLW1509 - only prctl, async-signal-safe
            start_new_session=True,
        )


def stop_child(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    """Send `sig` to the child by its PID, wait up to `timeout` seconds, then SIGKILL; return its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} was not written)"
    return "\n".join(text.splitlines()[-lines:])


def wait_for_health(name: str, url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60.0) -> None:
    """Wait until the service at `url` answers 200 on /health; RuntimeError if it exits, TimeoutError if too slow."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the {name} exited with code {process.returncode}:\n{tail(log)}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the {name} did not answer {url}/health within {seconds:.0f} s:\n{tail(log)}")
        time.sleep(0.2)
