"""`SpecError`: every problem of a spec at once, each with its YAML path."""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Sequence, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError


def error_message(error: BaseException) -> str:
    """An exception's message as written: `str(KeyError("x"))` is `"'x'"`, this is `x`."""
    return str(error.args[0]) if error.args else str(error)


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
    _, parent = _walk(model, loc[:-1])
    parent = _unwrap(parent) if parent is not None else None
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return [field.alias or name for name, field in parent.model_fields.items()]
    return None


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, ...]` -> X, `X | None` -> X."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) in (Union, types.UnionType) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def _tagged_member(annotation: Any, tag: Any) -> type[BaseModel] | None:
    """The member of a union discriminated on `kind` whose tag is `tag`."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return None
    for member in get_args(annotation):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and "kind" in member.model_fields:
            if tag in get_args(member.model_fields["kind"].annotation):
                return member
    return None


def _walk(model: type[BaseModel], loc: Sequence[Any]) -> tuple[list[str], Any]:
    """Follows `loc` through the annotations: the YAML path parts and the annotation reached.

    Union tags (`shuffle` in pydantic's `data.split.shuffle.eval_fraction`) are pydantic's
    bookkeeping, not keys the user wrote, and are dropped.
    """
    parts: list[str] = []
    current: Any = model
    for part in loc:
        current = _unwrap(current) if current is not None else None
        member = _tagged_member(current, part) if current is not None else None
        if member is not None:
            current = member
            continue
        parts.append(str(part))
        if isinstance(current, type) and issubclass(current, BaseModel) and str(part) in current.model_fields:
            current = current.model_fields[str(part)].annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            current = None
    return parts, current


def yaml_path(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """A pydantic error location as the YAML path the user wrote."""
    return ".".join(_walk(model, loc)[0])


def problems_from_validation(
    model: type[BaseModel], error: ValidationError, prefix: str = "", unknown_key: str = "unknown key"
) -> list[Problem]:
    """One `Problem` per pydantic error of `model`, paths under `prefix` (e.g. `model.hparams.`).

    An unknown key names the keys allowed at its place; `unknown_key` words the message.
    """
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = (prefix + yaml_path(model, loc)).rstrip(".")
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            message = unknown_key + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            # A validator's own message already says what it got; a whole section as "input" says nothing.
            message = item["msg"].removeprefix("Value error, ")
            if "input" in item and item["type"] not in ("union_tag_invalid", "value_error"):
                message += f" (got {item['input']!r})"
        problems.append(Problem(path, message))
    return problems
