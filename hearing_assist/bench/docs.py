"""Keep docs/benchmarks.md current: each benchmark owns one marked section, replaced on every run."""

from __future__ import annotations

from pathlib import Path

from hearing_assist.bench.report import BenchReport

HEADER = """# Benchmarks

Figures measured on the development machine (2 cores, no GPU). Each section is rewritten by the command it shows;
ratios are taken against a baseline measured in the same process, since these machines are noisy.
"""


def update_benchmarks_doc(path: Path, report: BenchReport) -> None:
    """Replace (or append) the section of ``report.name`` in the markdown file at ``path``."""
    start, end = f"<!-- bench:{report.name} -->", f"<!-- /bench:{report.name} -->"
    text = path.read_text() if path.exists() else HEADER
    section = f"{start}\n{report.to_markdown()}{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
