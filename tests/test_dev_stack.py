"""``scripts/dev_stack.py``: when make dev runs the demo store, and what make stop stops."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]


def load_dev_stack(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> ModuleType:
    monkeypatch.setenv("HIRECJ_DATA_DIR", str(data_dir))
    spec = importlib.util.spec_from_file_location("dev_stack", REPO / "scripts" / "dev_stack.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dev_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    for name in ("SHOPIFY_CLIENT_ID", "SHOPIFY_CLIENT_SECRET", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    module = load_dev_stack(monkeypatch, tmp_path / "data")
    # The env files a checkout may have are not this test's business: read an empty folder.
    monkeypatch.setattr(module, "ROOT", tmp_path)
    return module


def test_no_credentials_in_development_is_the_demo(dev_stack: ModuleType) -> None:
    assert dev_stack.demo_mode() is True


def test_credentials_in_the_environment_win(
    dev_stack: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPIFY_CLIENT_ID", "real-app")
    assert dev_stack.demo_mode() is False


def test_credentials_in_an_env_file_win(dev_stack: ModuleType, tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_text("SHOPIFY_CLIENT_SECRET=shpss_real\n")
    assert dev_stack.demo_mode() is False


def test_never_outside_development(dev_stack: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert dev_stack.demo_mode() is False


def test_stop_ends_a_recorded_process_and_its_children(dev_stack: ModuleType) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time;"
            " subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
            " time.sleep(60)",
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while not psutil.Process(parent.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = psutil.Process(parent.pid).children()[0]
        dev_stack.record("agents", parent.pid)
        assert dev_stack.stop() == 0
        parent.wait(timeout=10)  # ended (psutil already reaped it, so no exit status here)
        assert not psutil.pid_exists(parent.pid)
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
        assert not (dev_stack.RECORDS / "agents.json").exists()
    finally:
        if parent.poll() is None:
            parent.kill()


def test_stop_leaves_alone_a_pid_now_used_by_something_else(dev_stack: ModuleType) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dev_stack.RECORDS.mkdir(parents=True)
        # Recorded with another start time: the pid was reused, so it is not ours to stop.
        started = psutil.Process(other.pid).create_time() - 1000
        (dev_stack.RECORDS / "auth.json").write_text(
            json.dumps({"pid": other.pid, "started": started})
        )
        assert dev_stack.stop() == 0
        assert other.poll() is None
        assert not (dev_stack.RECORDS / "auth.json").exists()
    finally:
        other.kill()
        other.wait()
