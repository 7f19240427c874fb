"""Benchmark results: statistics, JSON and a markdown table, written side by side."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p90, p99, min, max and count of ``values`` (same units as the input)."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        return {"n": 0}
    return {
        "n": int(v.size),
        "median": float(np.median(v)),
        "p90": float(np.percentile(v, 90)),
        "p99": float(np.percentile(v, 99)),
        "min": float(v.min()),
        "max": float(v.max()),
    }


@dataclass
class Figure:
    """One reported figure with its target and whether it is met."""

    name: str
    value: float | str
    unit: str
    target: str = ""
    met: bool | None = None
    detail: str = ""


@dataclass
class BenchReport:
    """A benchmark's figures plus free-form data, written as JSON and markdown."""

    name: str
    command: str
    figures: list[Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, name: str, value: float | str, unit: str, target: str = "", met: bool | None = None,
            detail: str = "") -> None:
        """Append one figure."""
        self.figures.append(Figure(name, value, unit, target, met, detail))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "name": self.name,
            "command": self.command,
            "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                        "processor": platform.processor() or platform.machine()},
            "figures": [f.__dict__ for f in self.figures],
            "tables": self.tables,
            "notes": self.notes,
            "data": self.data,
        }

    def to_markdown(self) -> str:
        """A markdown section: command, figures table, extra tables and notes."""
        lines = [f"## {self.name}", "", f"Command: `{self.command}`", ""]
        if self.figures:
            lines += ["| figure | value | target | met |", "|---|---|---|---|"]
            for f in self.figures:
                val = f"{f.value:.3g} {f.unit}" if isinstance(f.value, (int, float)) else f"{f.value} {f.unit}"
                met = "" if f.met is None else ("yes" if f.met else "**no**")
                name = f"{f.name} ({f.detail})" if f.detail else f.name
                lines.append(f"| {name} | {val.strip()} | {f.target} | {met} |")
            lines.append("")
        for title, rows in self.tables.items():
            if not rows:
                continue
            cols = list(rows[0].keys())
            lines += [f"**{title}**", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            for r in rows:
                lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
            lines.append("")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``<name>.json`` and ``<name>.md`` into ``out_dir``; returns both paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        j = out / f"{self.name}.json"
        m = out / f"{self.name}.md"
        j.write_text(json.dumps(self.to_dict(), indent=2, default=float))
        m.write_text(self.to_markdown())
        return j, m


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
