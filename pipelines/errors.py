"""`SpecError`: every problem of a spec at once, each with its YAML path."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from pydantic import BaseModel, ValidationError


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


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The keys the model at `loc` accepts, to say what an unknown key could have been."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
        # Unwrap `X | None`.
        args = [a for a in getattr(current, "__args__", ()) if a is not type(None)]
        if len(args) == 1:
            current = args[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def problems_from_validation(
    model: type[BaseModel], error: ValidationError, prefix: str = "", unknown_key: str = "unknown key"
) -> list[Problem]:
    """One `Problem` per pydantic error of `model`, paths under `prefix` (e.g. `model.hparams.`).

    An unknown key names the keys allowed at its place; `unknown_key` words the message.
    """
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = prefix + ".".join(str(part) for part in loc)
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            message = unknown_key + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = item["msg"]
            if "input" in item and item["type"] not in ("union_tag_invalid",):
                message += f" (got {item['input']!r})"
        problems.append(Problem(path, message))
    return problems
