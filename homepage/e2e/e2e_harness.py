"""Real processes for the end-to-end tests: start one on a free port, wait for it, stop it.

Each process writes stdout and stderr to its own log file, so a failed start shows the log's
tail and the tests can check afterwards that no bearer token was ever logged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

E2E_DIR = Path(__file__).resolve().parent
HOMEPAGE_DIR = E2E_DIR.parent
REPO_DIR = HOMEPAGE_DIR.parent
PYTHON = REPO_DIR / ".venv" / "bin" / "python"


class ServiceStartError(RuntimeError):
    """A process exited or never answered its health URL; the message carries its log tail."""


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; the race is harmless in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class ServiceProcess:
    """One service: its command, where it runs, where it logs, and the URL that says it is up."""

    name: str
    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path
    health_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ServiceProcess:
        log = self.log_path.open("wb")
        try:
            # A session of its own, so stop() can end the whole group (npx starts node children).
            self.process = subprocess.Popen(
                list(self.command),
                cwd=self.cwd,
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise ServiceStartError(
                        f"{self.name} exited with {self.process.returncode} before it was healthy;"
                        f" log tail ({self.log_path}):\n{log_tail(self.log_path)}"
                    )
                try:
                    response = client.get(self.health_url)
                    if response.status_code == 200:
                        return
                    last_error = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last_error = type(exc).__name__
                time.sleep(0.2)
        raise ServiceStartError(
            f"{self.name} did not answer {self.health_url} within {timeout:.0f}s ({last_error});"
            f" log tail ({self.log_path}):\n{log_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)


@dataclass
class Stack:
    """Every running service of one test session and the addresses the tests need."""

    log_dir: Path
    frontend_url: str
    agents_url: str
    auth_url: str
    shopify_url: str
    env: dict[str, str]
    services: list[ServiceProcess] = field(default_factory=list)

    def log_files(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def run_archiver(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m app.workers.archiver ARGS`` from agents/ with the services' environment;
        its output is appended to a log file like every other process's."""
        result = subprocess.run(
            [str(PYTHON), "-m", "app.workers.archiver", *args],
            cwd=REPO_DIR / "agents",
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        with (self.log_dir / "archiver.log").open("a") as log:
            log.write(f"$ archiver {' '.join(args)} -> exit {result.returncode}\n")
            log.write(result.stdout + result.stderr)
        return result

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


def start_stack(*, log_dir: Path, base_env: Mapping[str, str]) -> Stack:
    """Start the fake Shopify, auth, agents and the built homepage (``vite preview``) on free
    ports, all pointing at the database and Redis named in ``base_env``."""
    ports = {name: free_port() for name in ("shopify", "auth", "agents", "homepage")}
    frontend_url = f"http://127.0.0.1:{ports['homepage']}"
    shopify_url = f"http://127.0.0.1:{ports['shopify']}"
    client_id, client_secret = "e2e-client-id", "e2e-client-secret-" + os.urandom(8).hex()
    env = {
        **base_env,
        "PYTHONUNBUFFERED": "1",
        "SHOPIFY_CLIENT_ID": client_id,
        "SHOPIFY_CLIENT_SECRET": client_secret,
        "SHOPIFY_ADMIN_URL_TEMPLATE": f"{shopify_url}/{{shop}}/admin",
        # The browser reaches auth through the homepage's proxy: one origin for everything.
        "AUTH_PUBLIC_URL": frontend_url,
        "FRONTEND_URL": frontend_url,
        "ARCHIVER_ENABLED": "false",
    }
    stack = Stack(
        log_dir=log_dir,
        frontend_url=frontend_url,
        agents_url=f"http://127.0.0.1:{ports['agents']}",
        auth_url=f"http://127.0.0.1:{ports['auth']}",
        shopify_url=shopify_url,
        env=env,
    )

    def uvicorn(name: str) -> ServiceProcess:
        port = ports[name]
        return ServiceProcess(
            name=name,
            command=[
                str(PYTHON),
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO_DIR / name,
            env=env,
            log_path=log_dir / f"{name}.log",
            health_url=f"http://127.0.0.1:{port}/health",
        )

    stack.services = [
        ServiceProcess(
            name="fake-shopify",
            command=[
                str(PYTHON),
                "-m",
                "shared.testing.fake_shopify",
                "--port",
                str(ports["shopify"]),
                "--client-id",
                client_id,
                "--client-secret",
                client_secret,
                # As make dev runs it without Shopify credentials: the labelled demo store.
                "--demo",
            ],
            cwd=REPO_DIR,
            env=env,
            log_path=log_dir / "fake-shopify.log",
            # The fake has no /health; its request recorder answers 200 once it listens.
            health_url=f"{shopify_url}/_fake/token-requests",
        ),
        uvicorn("auth"),
        uvicorn("agents"),
        ServiceProcess(
            name="homepage",
            command=[
                "npx",
                "--no-install",
                "vite",
                "preview",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["homepage"]),
                "--strictPort",
            ],
            cwd=HOMEPAGE_DIR,
            env={**env, "AGENTS_URL": stack.agents_url, "AUTH_URL": stack.auth_url},
            log_path=log_dir / "homepage.log",
            health_url=f"{frontend_url}/chat",
        ),
    ]
    try:
        # Start them all first, then wait: the Python services boot in parallel.
        for service in stack.services:
            service.start()
        for service in stack.services:
            service.wait_healthy()
    except BaseException:
        stack.stop()
        raise
    return stack


def build_homepage() -> None:
    """``npm run build`` unless ``dist/`` is already newer than every source file (``make
    test-e2e`` builds just before the run)."""
    index = HOMEPAGE_DIR / "dist" / "index.html"
    sources = [HOMEPAGE_DIR / "index.html", HOMEPAGE_DIR / "vite.config.ts"]
    sources += [p for p in (HOMEPAGE_DIR / "src").rglob("*") if p.is_file()]
    if index.exists() and index.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    result = subprocess.run(
        ["npm", "run", "build"], cwd=HOMEPAGE_DIR, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceStartError(f"npm run build failed:\n{result.stdout[-3000:]}{result.stderr}")
