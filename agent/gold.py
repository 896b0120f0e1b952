"""The gold set and execution accuracy: questions over the demo data with reference SQL and results.

``gold.json`` (shipped with the package) holds at least 40 questions about the bundled #xqcow
recording (what ``streamscope demo`` loads), each with ``sql`` (the reference query) and
``expected`` (its result rows). :func:`evaluate` asks the analyst each question and compares the
last table it produced with ``expected`` as result sets: rows compared as multisets (order ignored
unless ``ordered``), values normalised (numbers rounded to 2 decimals, times as ISO strings), column
names ignored. That is execution accuracy as text-to-SQL benchmarks define it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from streamscope.agent.loop import Analyst
from streamscope.agent.model import ModelError


@dataclass(frozen=True, slots=True)
class GoldQuestion:
    id: str
    question: str
    sql: str
    expected: list[list[Any]]
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question's run: ``correct`` by result-set equality; ``error`` when the model failed."""

    id: str
    correct: bool
    latency_s: float
    tokens: int
    steps: int
    error: str | None = None


def load() -> list[GoldQuestion]:
    """The shipped gold set."""
    raw = json.loads(resources.files("streamscope.agent").joinpath("gold.json").read_text(encoding="utf-8"))
    return [GoldQuestion(**item) for item in raw["questions"]]


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return round(float(value), 2)
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _norm(v)) for k, v in value.items()))
    return value


def same_result(got: list[list[Any]], expected: list[list[Any]], ordered: bool) -> bool:
    """Result-set equality (see the module docstring)."""
    a = [tuple(_norm(v) for v in row) for row in got]
    b = [tuple(_norm(v) for v in row) for row in expected]
    return a == b if ordered else Counter(a) == Counter(b)


def evaluate(
    analyst: Analyst,
    questions: list[GoldQuestion],
    channel: str | None = "xqcow",
    on_outcome: Callable[[GoldQuestion, Outcome], None] | None = None,
) -> list[Outcome]:
    """Ask every question; one :class:`Outcome` each, in order."""
    outcomes = []
    for q in questions:
        started = time.monotonic()
        try:
            answer = analyst.ask(q.question, channel)
            outcome = Outcome(
                q.id,
                same_result(answer.rows, q.expected, q.ordered),
                time.monotonic() - started,
                answer.tokens,
                len(answer.steps),
                answer.stopped,
            )
        except ModelError as exc:
            outcome = Outcome(q.id, False, time.monotonic() - started, 0, 0, str(exc))
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(q, outcome)
    return outcomes
