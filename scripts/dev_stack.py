"""What ``make dev`` runs and what ``make stop`` stops.

    python scripts/dev_stack.py run shopify|auth|agents|homepage   (the Procfile.dev entries)
    python scripts/dev_stack.py record NAME PID                   (dev_services.sh, after a start)
    python scripts/dev_stack.py stop                              (make stop)

``run`` records its own pid under ``.data/dev/`` and then becomes the service (``exec``), so the
recorded pid is the service's. In development with no Shopify credentials anywhere (real
environment, ``.env.tunnel``, ``.env.local``, ``auth/.env``), ``shopify`` runs the fake Shopify as
a labelled demo store and ``auth`` is pointed at it; with credentials, real ones win and
``shopify`` only waits (honcho stops everything when one entry exits).

``stop`` stops exactly the processes recorded there (each checked by its start time, so a pid
that was reused by something else is left alone), children included, then the PostgreSQL and
Redis that ``dev_services.sh`` started for ``make dev``. Nothing is ever stopped by name.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.env_loader import env_file_chain, load_env_files  # noqa: E402

RECORDS = Path(os.environ.get("HIRECJ_DATA_DIR", ROOT / ".data")) / "dev"
DEMO_PORT = int(os.environ.get("DEMO_SHOPIFY_PORT", "8104"))
DEMO_CLIENT_ID = "hirecj-demo-app"
# Development only: the demo store and auth share it on this machine; it guards nothing real.
DEMO_CLIENT_SECRET = "hirecj-demo-secret-development-only"

UVICORN = str(Path(sys.executable).with_name("uvicorn"))
RELOAD = ["--reload", "--reload-dir", "app", "--reload-dir", "../shared"]
COMMANDS: dict[str, tuple[str, list[str]]] = {
    "shopify": (
        ".",
        [
            sys.executable,
            "-m",
            "shared.testing.fake_shopify",
            "--demo",
            "--port",
            str(DEMO_PORT),
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            DEMO_CLIENT_SECRET,
        ],
    ),
    "auth": ("auth", [UVICORN, "app.main:app", "--port", "8103", *RELOAD]),
    "agents": ("agents", [UVICORN, "app.main:app", "--port", "8000", *RELOAD]),
    "homepage": ("homepage", ["npm", "run", "dev"]),
}
# (the order `stop` ends them in: the web processes first, the stores last)
STORES = ("postgres", "redis")


def configured_value(name: str) -> str | None:
    """A variable as the auth service would see it: the real environment, then its env files."""
    if os.environ.get(name):
        return os.environ[name]
    return load_env_files(env_file_chain(ROOT / "auth")).get(name) or None


def demo_mode() -> bool:
    environment = configured_value("ENVIRONMENT") or "development"
    has_credentials = configured_value("SHOPIFY_CLIENT_ID") or configured_value(
        "SHOPIFY_CLIENT_SECRET"
    )
    return environment == "development" and not has_credentials


def record(name: str, pid: int) -> None:
    RECORDS.mkdir(parents=True, exist_ok=True)
    started = psutil.Process(pid).create_time()
    (RECORDS / f"{name}.json").write_text(json.dumps({"pid": pid, "started": started}))


def run(name: str) -> int:
    if name not in COMMANDS:
        print(f"dev_stack: unknown service {name!r} (one of {', '.join(COMMANDS)})")
        return 2
    demo = demo_mode()
    folder, command = COMMANDS[name]
    env = dict(os.environ)
    if name == "shopify" and not demo:
        print("dev_stack: Shopify credentials are configured, so the demo store is not started.")
        record(name, os.getpid())
        waited = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, waited)
        signal.sigwait(waited)
        return 0
    if name == "shopify":
        print(f"dev_stack: DEMO STORE on http://127.0.0.1:{DEMO_PORT} (no Shopify credentials set)")
    if name == "auth" and demo:
        env.update(
            SHOPIFY_CLIENT_ID=DEMO_CLIENT_ID,
            SHOPIFY_CLIENT_SECRET=DEMO_CLIENT_SECRET,
            SHOPIFY_ADMIN_URL_TEMPLATE=f"http://127.0.0.1:{DEMO_PORT}/{{shop}}/admin",
        )
        print("dev_stack: auth uses the demo store; Connect Shopify accepts any store name.")
    record(name, os.getpid())
    os.chdir(ROOT / folder)
    sys.stdout.flush()
    os.execvpe(command[0], command, env)
    return 0  # not reached


def _stop_one(name: str, path: Path) -> None:
    try:
        entry = json.loads(path.read_text())
        process = psutil.Process(int(entry["pid"]))
        if abs(process.create_time() - float(entry["started"])) > 0.01:
            raise psutil.NoSuchProcess(int(entry["pid"]))
    except (ValueError, KeyError, psutil.NoSuchProcess):
        print(f"dev_stack: {name} is not running (already stopped)")
        path.unlink(missing_ok=True)
        return
    except psutil.AccessDenied:
        print(f"dev_stack: not allowed to stop {name} (pid {entry['pid']})")
        return
    # PostgreSQL: SIGINT is its "fast" shutdown (ends sessions, checkpoints, exits cleanly).
    first = signal.SIGINT if name == "postgres" else signal.SIGTERM
    children = [] if name in STORES else process.children(recursive=True)
    process.send_signal(first)
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs([process, *children], timeout=20)
    for leftover in alive:
        try:
            leftover.kill()
        except psutil.NoSuchProcess:
            pass
    print(f"dev_stack: stopped {name} (pid {entry['pid']})")
    path.unlink(missing_ok=True)


def stop() -> int:
    recorded = [name for name in [*COMMANDS, *STORES] if (RECORDS / f"{name}.json").exists()]
    if not recorded:
        print("dev_stack: nothing to stop (make dev started nothing that is still recorded)")
    for name in recorded:
        _stop_one(name, RECORDS / f"{name}.json")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"] and len(argv) == 2:
        return run(argv[1])
    if argv[:1] == ["record"] and len(argv) == 3:
        record(argv[1], int(argv[2]))
        return 0
    if argv == ["stop"]:
        return stop()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
