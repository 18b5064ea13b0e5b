"""`SpecError`: every problem of a spec at once, each with its YAML path."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (`data.source`) and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<top level>'}: {self.message}"


class SpecError(ValueError):
    """A spec that cannot be used; lists every problem, not just the first one."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [f"{source}: {len(self.problems)} problem(s) in the pipeline spec"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
