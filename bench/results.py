"""The results file: every measured sample plus the run's context, as JSON.

The harness appends samples and rewrites the file after each one, so an
interrupted run still leaves everything measured so far. ``bench/report.py``
renders docs from this file alone.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Sample:
    """One timed operation by one contender."""

    op: str  # deploy, redeploy, update_all, update_one, broken, diff, validate, help
    size: int  # number of services (0 for help)
    contender: str  # stackctl, docker, floor
    run: int
    seconds: float | None
    exit_code: int | None
    ok: bool  # exit code as expected and the cluster in the expected state afterwards
    services_changed: int | None = None  # services whose Version.Index moved
    api_total: int | None = None
    api_writes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Results:
    """A whole benchmark run."""

    mode: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # "contender op" -> reason
    load: dict[str, Any] = field(default_factory=dict)
    finished: str | None = None
    path: Path | None = None

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        self.save()

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "mode": self.mode,
            "settings": self.settings,
            "machine": self.machine,
            "load": self.load,
            "unavailable": self.unavailable,
            "finished": self.finished,
            "samples": [asdict(s) for s in self.samples],
        }

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | None = None) -> Results:
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unsupported results schema {data.get('schema')!r}")
        return cls(
            mode=data["mode"],
            settings=data["settings"],
            machine=data["machine"],
            samples=[Sample(**s) for s in data["samples"]],
            unavailable=dict(data.get("unavailable", {})),
            load=dict(data.get("load", {})),
            finished=data.get("finished"),
            path=path,
        )

    @classmethod
    def load_file(cls, path: Path) -> Results:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), path)


@dataclass(frozen=True)
class Summary:
    """The good samples of one (op, size, contender)."""

    median: float | None
    low: float | None
    high: float | None
    runs: int  # good samples
    failed: int  # samples that were not ok
    api_total: float | None  # median over good samples that were counted
    api_writes: float | None
    services_changed: float | None


def _median(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(samples: Iterable[Sample]) -> Summary:
    items = list(samples)
    good = [s for s in items if s.ok and s.seconds is not None]
    times = [s.seconds for s in good if s.seconds is not None]
    return Summary(
        median=statistics.median(times) if times else None,
        low=min(times) if times else None,
        high=max(times) if times else None,
        runs=len(good),
        failed=len(items) - len(good),
        api_total=_median(s.api_total for s in good),
        api_writes=_median(s.api_writes for s in good),
        services_changed=_median(s.services_changed for s in good),
    )


def group(samples: Iterable[Sample]) -> dict[tuple[str, int, str], list[Sample]]:
    """Samples by (op, size, contender), in first-seen order."""
    grouped: dict[tuple[str, int, str], list[Sample]] = {}
    for sample in samples:
        grouped.setdefault((sample.op, sample.size, sample.contender), []).append(sample)
    return grouped
