"""The benchmark registry: each benchmark is a function of the parsed options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Result = dict[str, Any]


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    default_size: int
    run: Callable[[Any], Result]
    database: bool = True  # False: Django is set up, but no database is created or migrated


BENCHMARKS: dict[str, Benchmark] = {}


def register(
    name: str, summary: str, default_size: int
) -> Callable[[Callable[[Any], Result]], Any]:
    def wrap(fn: Callable[[Any], Result]) -> Callable[[Any], Result]:
        BENCHMARKS[name] = Benchmark(name, summary, default_size, fn)
        return fn

    return wrap
