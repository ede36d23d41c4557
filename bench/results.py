"""The shared results file, ``bench/RESULTS.md``: one section per benchmark."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, section: str) -> None:
    """Put ``section`` into the results file in place of its old version.

    A section starts with its ``## `` heading line and runs to the next one;
    a section not in the file yet is added at its end. The file is read just
    before it is written, so benchmarks run one after another keep each
    other's sections.
    """
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    new = section.rstrip("\n").splitlines()
    heading = new[0].strip()
    if not heading.startswith("## "):
        raise ValueError(
            f"a results section starts with its '## ' heading, not {heading!r}"
        )
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *new]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
            len(lines),
        )
        lines[start:end] = [*new, ""] if end < len(lines) else new
    path.write_text("\n".join(lines) + "\n")
