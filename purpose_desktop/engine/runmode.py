"""RunMode: what a run may write — EVAL_TEST nothing, LEARNING_VALIDATION evidence only, LEARNING_TRAIN all."""

from __future__ import annotations

import enum


class RunMode(enum.Enum):
    """Enforced by the store (see ``Store.run_mode``), not by convention."""

    EVAL_TEST = "eval"
    LEARNING_VALIDATION = "validation"
    LEARNING_TRAIN = "train"

    @classmethod
    def parse(cls, value: str | RunMode) -> RunMode:
        if isinstance(value, RunMode):
            return value
        v = value.strip().lower()
        for mode in cls:
            if v in (mode.value, mode.name.lower()):
                return mode
        raise ValueError(f"unknown run mode {value!r}: use train, validation or eval")

    def allows(self, kind: str) -> bool:
        """``kind`` is "chat", "trace", "evidence" or "memory"."""
        if self is RunMode.LEARNING_TRAIN:
            return True
        if self is RunMode.LEARNING_VALIDATION:
            return kind == "evidence"
        return False
