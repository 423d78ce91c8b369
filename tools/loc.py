"""Prints lines of code per file and per level of the neuropil package (run by .ci/run).

Size stays visible: a file growing past ~400 lines is a hint to split it.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from levels import LEVELS, top_level_name  # noqa: E402


def count_lines(path: Path) -> int:
    """Non-blank lines."""
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    per_level: dict[int, int] = defaultdict(int)
    rows = []
    for path in sorted((root / "neuropil").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        lines = count_lines(path)
        level = LEVELS.get(top_level_name(relative), -1)
        per_level[level] += lines
        rows.append((relative, level, lines))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'file':<{width}}  level  lines")
    for name, level, lines in rows:
        flag = "  <- over 400" if lines > 400 else ""
        print(f"{name:<{width}}  {level:>5}  {lines:>5}{flag}")
    print()
    for level in sorted(per_level):
        print(f"level {level}: {per_level[level]:>6} lines")
    print(f"total:   {sum(per_level.values()):>6} lines in {len(rows)} files")


if __name__ == "__main__":
    main()
