"""The tester's checks, written as assert lines under a grammar and kept only where its samples agree.

A small model asked for tests in free text mostly writes the function again (the bundled 135M model did
on all 32 tasks of bench/critic.py: no assert at all). Constrained to lines of the form
``assert NAME(args) == expected`` it writes checks whose expected values are right about half the time;
asked a few times, the value most of its answers give for a call is right more often. So: one greedy
answer and ``samples - 1`` sampled ones, every line parsed (anything naming a variable it never defined
is dropped), and for each call the expected value given more often than any other — a call whose
answers tie is left out, since two checks that contradict each other would fail every solution.

The checks are still written before the tester sees any solution (the prompt holds the task and the
plan only). Only a model that decodes under a GBNF grammar (``complete_grammar``: the local llama.cpp
models) gets this; others keep the tester's free-form answer.
"""

from __future__ import annotations

import ast
import builtins
from collections import Counter
from dataclasses import dataclass, field

from purpose_desktop.engine.cancel import CancelToken

SAMPLES = 4  # one greedy answer, three sampled
LINES = 4  # asserts per answer
SAMPLE_TEMPERATURE = 0.8
MAX_CHECKS = 8
_BUILTINS = frozenset(dir(builtins))


@dataclass
class WrittenChecks:
    """The agreed checks (assert lines) and how they were reached."""

    asserts: list[str]
    votes: list[int]  # for each assert, how many answers gave that expected value
    answers: int  # answers asked for
    calls: int  # distinct calls proposed
    dropped_split: int  # calls left out because the answers disagreed
    tokens: int
    cancelled: bool = False
    raw: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return "\n".join(self.asserts) + ("\n" if self.asserts else "")

    def answer_text(self) -> str:
        """The tester step's answer: the checks as one code block, then how they were agreed."""
        if not self.asserts:
            return "No check was agreed on: " + self.summary()
        return f"```python\n{self.code}```\n{self.summary()}"

    def summary(self) -> str:
        kept = len(self.asserts)
        parts = [
            f"{kept} check{'s' if kept != 1 else ''} kept from {self.answers} answers "
            f"({self.calls} call{'s' if self.calls != 1 else ''} proposed"
        ]
        if self.dropped_split:
            parts.append(f", {self.dropped_split} left out because the answers disagreed")
        return "".join(parts) + "); written without seeing the solution."


def supports_grammar(model) -> bool:
    return callable(getattr(model, "complete_grammar", None))


def grammar(name: str, lines: int = LINES) -> str:
    """GBNF for a code block of ``lines`` lines ``assert NAME(…) == …`` (the fence is written for the model)."""
    line = f'line ::= "assert {name}(" [^\\n=]{{1,60}} ") == " [^\\n]{{1,40}} "\\n"'
    return f'root ::= "```python\\n" {" ".join(["line"] * lines)} "```"\n{line}\n'


def request(name: str, lines: int = LINES) -> str:
    """What the tester is asked, after the task and the plan."""
    return (
        f"Write {lines} assert statements that test {name}, each on a different small input with the exact "
        "expected result. Do not write the function."
    )


def parse(name: str, text: str) -> list[tuple[str, str]]:
    """``(call, expected)`` for each usable line: ``assert NAME(…) == value`` naming nothing undefined."""
    out: list[tuple[str, str]] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line.startswith("assert "):
            continue
        try:
            tree = ast.parse(line)
        except SyntaxError:
            continue
        stmt = tree.body[0] if len(tree.body) == 1 else None
        if not (
            isinstance(stmt, ast.Assert)
            and isinstance(stmt.test, ast.Compare)
            and len(stmt.test.ops) == 1
            and isinstance(stmt.test.ops[0], ast.Eq)
            and isinstance(stmt.test.left, ast.Call)
            and isinstance(stmt.test.left.func, ast.Name)
            and stmt.test.left.func.id == name
        ):
            continue
        free = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} - {name} - _BUILTINS
        if free:  # `count_words(text) == 2`: a name the check never defines fails for every solution
            continue
        pair = (ast.unparse(stmt.test.left), ast.unparse(stmt.test.comparators[0]))
        if pair not in out:
            out.append(pair)
    return out


def agree(answers: list[list[tuple[str, str]]], limit: int = MAX_CHECKS) -> tuple[list[tuple[str, str, int]], int, int]:
    """The majority expected value of each call: ``([(call, expected, votes)], calls, dropped_split)``.

    A call is kept when one value has more votes than any other; the best-supported calls come first
    (ties in the order they were first proposed), at most ``limit``.
    """
    votes: dict[str, Counter] = {}
    for pairs in answers:
        for call, expected in pairs:
            votes.setdefault(call, Counter())[expected] += 1
    kept, split = [], 0
    for call, counter in votes.items():
        (best, n), *rest = counter.most_common()
        if rest and rest[0][1] == n:
            split += 1
            continue
        kept.append((call, best, n))
    kept.sort(key=lambda item: -item[2])  # stable: first proposed first among equals
    return kept[:limit], len(votes), split


def write_checks(
    model,
    messages: list[dict],
    name: str,
    *,
    samples: int = SAMPLES,
    temperature: float = SAMPLE_TEMPERATURE,
    seed: int = 0,
    max_tokens: int = 220,
    cancel: CancelToken | None = None,
) -> WrittenChecks:
    """Ask ``model`` (which must support ``complete_grammar``) for assert lines ``samples`` times.

    ``messages`` are the tester's prompt (system, then the task and plan); the request for the lines is
    appended to its last message. The first answer is greedy, the rest sampled at ``temperature``.
    """
    from purpose_desktop.engine.models import GenerationSettings

    asked = [*messages[:-1], {**messages[-1], "content": f"{messages[-1]['content']}\n\n{request(name)}"}]
    rule = grammar(name)
    answers: list[list[tuple[str, str]]] = []
    raw: list[str] = []
    tokens = 0
    cancelled = False
    for i in range(max(1, samples)):
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        settings = GenerationSettings(
            max_tokens=max_tokens, temperature=0.0 if i == 0 else temperature, seed=seed + 7919 * i
        )
        reply = model.complete_grammar(asked, rule, settings=settings, cancel=cancel)
        tokens += reply.n_tokens
        if reply.finish_reason == "cancelled":
            cancelled = True
            break
        raw.append(reply.text)
        answers.append(parse(name, reply.text))
    kept, calls, split = agree(answers)
    return WrittenChecks(
        asserts=[f"assert {call} == {expected}" for call, expected, _ in kept],
        votes=[n for _, _, n in kept],
        answers=len(answers),
        calls=calls,
        dropped_split=split,
        tokens=tokens,
        cancelled=cancelled,
        raw=raw,
    )
