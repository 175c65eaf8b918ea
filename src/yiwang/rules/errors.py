"""Errors raised by the rules engine: every problem names where it is, the atom and the fact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule, a catalog or a set of facts."""

    path: str
    message: str
    atom_id: str | None = None
    fact: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "atom_id": self.atom_id,
            "fact": self.fact,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.path or "<rule>"
        bits = [where]
        if self.atom_id:
            bits.append(f"atom {self.atom_id!r}")
        if self.fact:
            bits.append(f"fact {self.fact!r}")
        return f"{', '.join(bits)}: {self.message}"


class _ProblemsError(ValueError):
    kind = "problem"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} {self.kind}s:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_list(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.problems]


class RuleError(_ProblemsError):
    """A rule (or a catalog it relies on) is invalid; ``problems`` lists every finding."""

    kind = "rule problem"


class FactError(_ProblemsError):
    """Facts given for an entity do not match the catalog (wrong type, unknown unit...)."""

    kind = "fact problem"


class ExpressionError(ValueError):
    """The expression syntax could not be parsed; ``position`` is the character offset."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.position = position
        self.text = text
        pointer = f"{text}\n{' ' * position}^"
        super().__init__(f"{message} at character {position}:\n{pointer}")
        self.short = f"{message} at character {position} of {text!r}"
