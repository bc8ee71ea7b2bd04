"""Medians by (operation, size, contender), and how the report prints numbers."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import Results, Summary, group, summarize


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:.1f} s"


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def fmt_count(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


@dataclass(frozen=True)
class Table:
    """Summaries by (op, size, contender) plus what could not run."""

    summaries: dict[tuple[str, int, str], Summary]
    unavailable: dict[str, str]

    @classmethod
    def of(cls, results: Results) -> Table:
        return cls(
            {key: summarize(items) for key, items in group(results.samples).items()},
            results.unavailable,
        )

    def get(self, op: str, size: int, contender: str) -> Summary | None:
        return self.summaries.get((op, size, contender))

    def median(self, op: str, size: int, contender: str) -> float | None:
        summary = self.get(op, size, contender)
        return None if summary is None else summary.median

    def sizes(self, op: str) -> list[int]:
        return sorted({size for (o, size, _c) in self.summaries if o == op})

    def cell(self, op: str, size: int, contender: str) -> str:
        """Median seconds with the number of runs, or why there is none."""
        summary = self.get(op, size, contender)
        if summary is None:
            if f"{contender} {op}" in self.unavailable:
                return "not available"
            return "–"
        if summary.median is None:
            return f"failed ({summary.failed})"
        text = f"{fmt_seconds(summary.median)} ({summary.runs})"
        if summary.failed:
            text += f", {summary.failed} failed"
        return text
