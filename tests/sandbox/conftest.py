"""Fixtures for the sandbox tests: settings, and the backends this host can run (Docker skips here)."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tdscaling.sandbox import Limits, Sandbox, SandboxSettings, open_sandbox
from tdscaling.sandbox._isolation import detect_local
from tdscaling.sandbox._select import BackendPlan, plan_backend

# Each id names a backend plan: the local backend as detected, the local backend forced down to each
# weaker mechanism (the contract holds for all), and Docker when an engine answers.
_DOCKER = pytest.param("docker", marks=pytest.mark.docker)
BACKEND_IDS = ["local", "local-unshare", "local-subprocess", _DOCKER]
STRONG_IDS = ["local", _DOCKER]


@pytest.fixture(params=BACKEND_IDS)
def backend_id(request: pytest.FixtureRequest) -> str:
    """Every backend the contract suite runs against."""
    return str(request.param)


@pytest.fixture(params=STRONG_IDS)
def strong_id(request: pytest.FixtureRequest) -> str:
    """The backends the security tests run against: the local one must be strong here."""
    return str(request.param)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(tmp_path: Path, **limits: float) -> SandboxSettings:
    return SandboxSettings(
        backend="local",
        limits=Limits(**{"timeout_s": 10.0, **limits}),
        record_path=tmp_path / "record.jsonl",
        record_fsync=False,
        # workspace_root stays unset: the backend's own temp dir is traversable by uid 65534
        # (unshare mode), pytest's tmp_path is not.
    )


def plan_for(backend_id: str, settings: SandboxSettings) -> BackendPlan:
    """The plan for ``backend_id``; skips with the reason when this host cannot run it."""
    if backend_id == "docker":
        docker_settings = settings.model_copy(update={"backend": "docker"})
        try:
            return plan_backend(docker_settings)
        except Exception as e:
            pytest.skip(f"docker backend: {e}")
    if backend_id == "local":
        return plan_backend(settings)
    mechanism = backend_id.removeprefix("local-")
    caps = detect_local(settings, only=mechanism)  # type: ignore[arg-type]
    if caps.mechanism != mechanism:
        pytest.skip(f"{mechanism} does not work on this host: {caps.report.layers}")
    return BackendPlan("local", caps.report, caps, None)


OpenSandbox = Callable[..., AbstractAsyncContextManager[Sandbox]]


@pytest.fixture
def open_for(tmp_path: Path) -> OpenSandbox:
    """``open_for(backend_id, strong=False, **limits)``: an async context manager giving a Sandbox.

    With ``strong=True`` a local backend weaker than 'strong' fails the test instead of skipping:
    the security tests are the contract on every host that runs them.
    """

    def factory(backend_id: str, *, strong: bool = False, **limits: float) -> AbstractAsyncContextManager[Sandbox]:
        settings = make_settings(tmp_path, **limits)
        plan = plan_for(backend_id, settings)
        if strong and plan.report.level != "strong":
            pytest.fail(f"the security tests need strong isolation; this host gives {plan.report.headline()}")
        return open_sandbox(settings, plan=plan)

    return factory


@pytest.fixture
def processes_with() -> Callable[[str], list[int]]:
    return _processes_with


def _processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker`` (zombies have none, so they do not count)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found
