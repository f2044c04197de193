"""The record of every tool call a hub routed, and of every server failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from ._calls import CallRecord

ReportKind = Literal["connect_failed", "died"]


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
