"""The record of every tool call a hub routed, and of every server failure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

ErrorKind = Literal["tool", "unknown_tool", "server_unavailable", "server_failed", "timeout", "protocol"]
"""Why a call is an error: ``tool`` means the server answered ``isError``; ``unknown_tool``
that no server has the name; ``server_unavailable`` that the server had already failed;
``server_failed`` that it failed during this call; ``timeout`` that it did not answer in
time; ``protocol`` that its answer was malformed (a JSON-RPC error, an invalid result)."""

ReportKind = Literal["connect_failed", "died"]


@dataclass(frozen=True)
class CallRecord:
    """One routed call: what was asked, what came back, how long it took.

    ``text`` is what a model should be shown as the tool's reply: the result's text
    content joined by newlines, or, for an error the hub produced, a sentence saying what
    went wrong. ``structured`` is the result's ``structuredContent`` when it had one.
    Times are Unix seconds; ``latency_ms`` is measured on a monotonic clock.
    """

    index: int
    name: str
    server: str | None
    tool: str | None
    arguments: Mapping[str, Any]
    text: str
    structured: dict[str, Any] | None
    is_error: bool
    error_kind: ErrorKind | None
    latency_ms: float
    started_at: float
    ended_at: float


@dataclass(frozen=True)
class ServerReport:
    """A server that failed: which one, when, and what happened."""

    server: str
    kind: ReportKind
    message: str
    at: float


class CallLog:
    """Append-only records of calls and server reports, in the order they happened."""

    def __init__(self) -> None:
        self._calls: list[CallRecord] = []
        self._reports: list[ServerReport] = []

    @property
    def calls(self) -> tuple[CallRecord, ...]:
        return tuple(self._calls)

    @property
    def reports(self) -> tuple[ServerReport, ...]:
        return tuple(self._reports)

    def next_index(self) -> int:
        return len(self._calls)

    def add_call(self, record: CallRecord) -> None:
        self._calls.append(record)

    def add_report(self, report: ServerReport) -> None:
        self._reports.append(report)

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(tuple(self._calls))
