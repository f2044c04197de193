"""Choose the backend (``auto``: Docker when an engine answers, else local) and enforce the required level."""

from __future__ import annotations

from dataclasses import dataclass

from tdscaling.sandbox._backend import IsolationReport, SandboxBackend
from tdscaling.sandbox._docker import DockerBackend, docker_client, docker_report
from tdscaling.sandbox._errors import IsolationUnavailableError, SandboxBrokenError
from tdscaling.sandbox._isolation import LocalCapabilities, detect_local
from tdscaling.sandbox._local import LocalBackend
from tdscaling.sandbox._settings import IsolationLevel, SandboxSettings

_RANK: dict[IsolationLevel, int] = {"none": 0, "weak": 1, "strong": 2}


@dataclass(frozen=True)
class BackendPlan:
    """The backend to build and the isolation it will give, decided once at start."""

    kind: str
    report: IsolationReport
    local: LocalCapabilities | None
    docker_error: str | None

    def build(self, settings: SandboxSettings) -> SandboxBackend:
        if self.kind == "docker":
            return DockerBackend(settings)
        return LocalBackend(settings, capabilities=self.local)


def _docker_available() -> str | None:
    try:
        docker_client().close()
    except SandboxBrokenError as e:
        return str(e)
    return None


def plan_backend(settings: SandboxSettings) -> BackendPlan:
    """Probe the host (blocking, tens of ms) and pick the backend; raise when below ``require_isolation``."""
    docker_error: str | None = None
    if settings.backend in ("auto", "docker"):
        docker_error = _docker_available()
        if docker_error is None:
            return checked(settings, BackendPlan("docker", docker_report(settings.docker_image), None, None))
        if settings.backend == "docker":
            raise IsolationUnavailableError(f"--backend docker was asked for, but {docker_error}")
    local = detect_local(settings)
    return checked(settings, BackendPlan("local", local.report, local, docker_error))


def checked(settings: SandboxSettings, plan: BackendPlan) -> BackendPlan:
    if _RANK[plan.report.level] < _RANK[settings.require_isolation]:
        raise IsolationUnavailableError(
            f"isolation {settings.require_isolation!r} is required but this host gives {plan.report.level!r} "
            f"({plan.report.mechanism}): {'; '.join(plan.report.warnings) or 'see `tdscaling sandbox check`'}"
        )
    return plan
