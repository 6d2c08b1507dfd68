"""Memory records: the seven kinds, the lifecycle statuses, scope, history entries, evidence and policy."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from purpose_desktop.engine.settings import LEARNING_METHODS, METHOD_OFF  # noqa: F401 (METHOD_OFF re-exported)

KINDS = (
    "purpose_contract",
    "user_preference",
    "skill_card",
    "episodic_case",
    "failure_pattern",
    "critic_calibration",
    "tool_policy",
)
# Kinds that state how the user wants work done: they apply to every task in their scope, so their
# relevance never drops below ALWAYS_RELEVANCE (a preference about type hints says nothing about
# the *topic* of "sort a list of names", yet it applies).
ALWAYS_KINDS = frozenset({"purpose_contract", "user_preference"})
ALWAYS_RELEVANCE = 0.6
TASK_BOUND_KINDS = frozenset({"episodic_case", "failure_pattern"})

CANDIDATE, QUARANTINED, PROMOTED, REJECTED, ARCHIVED = (
    "candidate",
    "quarantined",
    "promoted",
    "rejected",
    "archived",
)
STATUSES = (CANDIDATE, QUARANTINED, PROMOTED, REJECTED, ARCHIVED)

# Who may move a memory where. Edits and re-tests go back through quarantine (see api.MemoryBank.edit).
TRANSITIONS: dict[str, frozenset[str]] = {
    CANDIDATE: frozenset({QUARANTINED, REJECTED}),
    QUARANTINED: frozenset({QUARANTINED, PROMOTED, REJECTED, ARCHIVED}),
    PROMOTED: frozenset({QUARANTINED, PROMOTED, REJECTED, ARCHIVED}),
    REJECTED: frozenset({QUARANTINED, REJECTED}),
    ARCHIVED: frozenset({QUARANTINED, REJECTED, ARCHIVED}),
}

VERDICTS = ("helps", "neutral", "hurts", "untested")
#: A replay verdict of helps / hurts needs the exact two-sided sign test over the grounded, non-tied
#: A/B pairs to reach p < SIGN_ALPHA: at least 5 non-tied pairs all one way (p = 0.0625); 4-0 gives
#: p = 0.125, 7-1 gives p = 0.070, 6-1 gives p = 0.125.
SIGN_ALPHA = 0.1
TAUGHT_BY_USER = "taught by user"
MAX_TEXT_CHARS = 2000


#: Scope tags of this form keep a memory to one project (see Scope.projects).
PROJECT_TAG = "project:"


def project_tag(name: str) -> str:
    return PROJECT_TAG + " ".join(str(name).split()).lower()


@dataclass(frozen=True)
class Scope:
    """Where a memory applies; an empty tuple means "any"."""

    roles: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def matches(
        self, role: str | None, tools: set[str] | frozenset[str], tags: set[str] | frozenset[str]
    ) -> bool:
        if self.roles and role not in self.roles:
            return False
        if self.tools and not (set(self.tools) & set(tools)):
            return False
        return not (self.tags and not (set(self.tags) & set(tags)))

    def key(self) -> tuple:
        return (self.roles, self.tools, self.tags)

    @property
    def projects(self) -> tuple[str, ...]:
        """The projects this memory is kept to (tags ``project:<name>``; a chat or run in that project
        passes the same tag). Empty: any project."""
        return tuple(t[len(PROJECT_TAG) :] for t in self.tags if t.startswith(PROJECT_TAG))

    @classmethod
    def build(
        cls, roles=(), tools=(), project: str | None = None, tags=()
    ) -> Scope:
        """A cleaned scope from its parts; ``project`` becomes the tag ``project:<name>``."""
        all_tags = list(tags or ())
        if project and str(project).strip():
            all_tags.append(project_tag(project))
        return cls.from_dict({"roles": list(roles or ()), "tools": list(tools or ()), "tags": all_tags})

    def to_dict(self) -> dict[str, list[str]]:
        return {"roles": list(self.roles), "tools": list(self.tools), "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, data: dict | None) -> Scope:
        data = data or {}

        def clean(key: str) -> tuple[str, ...]:
            return tuple(sorted({str(v).strip().lower() for v in data.get(key) or () if str(v).strip()}))

        return cls(clean("roles"), clean("tools"), clean("tags"))


@dataclass(frozen=True)
class ReplayEvidence:
    """The A/B replay result stored on a memory: scores with and without it, same seeds, n runs each."""

    memory_id: str
    tasks: list[str]
    seeds: list[int]
    n: int
    scores_with: list[float]
    scores_without: list[float]
    mean_with: float | None
    mean_without: float | None
    delta: float | None
    wins: int
    losses: int
    verdict: str  # helps | neutral | hurts | untested
    status: str = "complete"  # complete | cancelled
    id: str = ""
    created_at: str = ""
    # -- grounding: only pairs where both arms' scores are grounded decide the verdict -------------
    grounds_with: list = field(default_factory=list)  # per pair: the "with" arm's grounded_by (None: not said)
    grounds_without: list = field(default_factory=list)
    n_grounded: int = 0  # pairs where both arms were grounded (they decide the verdict)
    n_ungrounded: int = 0  # pairs skipped: at least one arm's score was not grounded
    grounded_wins: int = 0
    grounded_losses: int = 0
    grounded_ties: int = 0
    grounded_delta: float | None = None  # mean (with − without) over the grounded pairs
    p_value: float | None = None  # exact two-sided sign test over the grounded, non-tied pairs
    enough_evidence: bool = False  # p_value < SIGN_ALPHA
    verdict_reason: str = ""

    def grounding_counts(self) -> dict[str, dict[str, int]]:
        """How each arm's runs were grounded: {"with": {"given_tests": 3, "judge": 1}, "without": {…}}."""
        out: dict[str, dict[str, int]] = {}
        for arm, grounds in (("with", self.grounds_with), ("without", self.grounds_without)):
            counts: dict[str, int] = {}
            for g in grounds:
                key = g or "not recorded"
                counts[key] = counts.get(key, 0) + 1
            out[arm] = counts
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["grounding"] = self.grounding_counts()
        return d

    @classmethod
    def from_dict(cls, data: dict) -> ReplayEvidence:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class HistoryEntry:
    """One change to a memory: what happened, who did it and why."""

    at: str
    actor: str  # user | distil | immune | replay | credit | policy | system
    # created | scanned | promoted | rejected | edited | archived | restored | retested | strengthened |
    # seen_again | credited | flagged | demoted
    action: str
    from_status: str | None
    to_status: str | None
    reason: str
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Memory:
    """A lesson with its provenance, scan report, replay evidence and usage record."""

    id: str
    kind: str
    text: str
    scope: Scope
    status: str
    provenance: list[dict]
    scan: dict
    evidence: dict | None
    trust: float
    utility: float
    retrieved: int
    helped: int
    hurt: int
    strength: int
    hurt_streak: int
    status_reason: str
    content_hash: str
    created_at: str
    updated_at: str

    @property
    def effective_trust(self) -> float:
        return effective_trust(self.trust, self.evidence)

    @property
    def taught(self) -> bool:
        return any(p.get("source") == TAUGHT_BY_USER for p in self.provenance)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scope"] = self.scope.to_dict()
        d["effective_trust"] = round(self.effective_trust, 4)
        return d

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Memory:
        return cls(
            id=row["id"],
            kind=row["kind"],
            text=row["text"],
            scope=Scope.from_dict(_loads(row["scope_json"], {})),
            status=row["status"],
            provenance=_loads(row["provenance_json"], []),
            scan=_loads(row["scan_json"], {}),
            evidence=_loads(row["evidence_json"], None),
            trust=float(row["trust"]),
            utility=float(row["utility"]),
            retrieved=int(row["retrieved_count"]),
            helped=int(row["helped_count"]),
            hurt=int(row["hurt_count"]),
            strength=int(row["strength"]),
            hurt_streak=int(row["hurt_streak"]),
            status_reason=row["status_reason"] or "",
            content_hash=row["content_hash"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True)
class MemoryPolicy:
    """Knobs for learning. Auto-promotion is off: a person approves unless they turn it on."""

    auto_promote: bool = False
    auto_promote_min_delta: float = 1.0  # mean score gain (0–10 scale) that "clearly helps" means
    verdict_margin: float = 0.5  # |delta| below this is "neutral"
    dedup_threshold: float = 0.82  # cosine at or above which two lessons are the same lesson
    demote_after: int = 3  # consecutive hurting runs before a promoted memory goes back to review
    demote_taught: bool = False  # user-taught lessons are flagged, not demoted, unless this is on
    credit_rate: float = 0.2  # how far one run moves utility
    credit_margin: float = 0.1  # outcome vs baseline (0–1) beyond which a run helped / hurt
    top_k: int = 5  # memories per step at most
    token_budget: int = 240  # memory tokens per step at most
    min_relevance: float = (
        0.3  # cosine below which a general lesson (skill card, tool policy …) is not retrieved
    )
    # Episodic cases and failure patterns describe one task: only a near-identical task should see them
    # (MiniLM puts tasks that merely share a template, "Write a Python function f(x) that …", at 0.3–0.6).
    min_relevance_case: float = 0.65
    replay_n: int = 3
    replay_similar: int = 2  # past tasks replayed besides the originating one
    replay_temperature: float = 0.7  # seeds only matter when sampling; 0 would make n runs identical
    distil: bool = True
    #: Self-improvement methods turned off (names in settings.LEARNING_METHODS; METHOD_OFF says what each
    #: "off" does). Empty: every method is on.
    methods_off: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.methods_off) - set(LEARNING_METHODS))
        if unknown:
            raise ValueError(f"unknown learning method(s): {', '.join(unknown)}; known: {', '.join(LEARNING_METHODS)}")
        object.__setattr__(self, "methods_off", frozenset(self.methods_off))

    def uses(self, method: str) -> bool:
        """Whether the self-improvement ``method`` is on under this policy."""
        if method not in LEARNING_METHODS:
            raise ValueError(f"unknown learning method {method!r}; known: {', '.join(LEARNING_METHODS)}")
        return method not in self.methods_off

    @property
    def set_aside_sources(self) -> frozenset[str]:
        """Provenance sources whose memories retrieval leaves out: those of the methods turned off."""
        return frozenset(src for method, src in METHOD_SOURCES.items() if method in self.methods_off)


#: Memories a method produced, by their first provenance source: set aside while the method is off.
METHOD_SOURCES: dict[str, str] = {"hindsight": "hindsight"}


def effective_trust(trust: float, evidence: dict | None) -> float:
    """Trust as retrieval uses it: the stored trust moved by the latest replay verdict.

    Kept separate from the stored value because replay runs in LEARNING_VALIDATION, which may write
    evidence but not memories.
    """
    factor = {"helps": 1.25, "hurts": 0.5}.get((evidence or {}).get("verdict") or "", 1.0)
    return max(0.0, min(1.0, trust * factor))


def normalize_text(text: str) -> str:
    """Text as stored: NFC, trimmed, inner whitespace runs kept (code matters) but no trailing spaces."""
    text = unicodedata.normalize("NFC", text or "")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def content_hash(text: str) -> str:
    """Same lesson, same hash: case, punctuation and spacing do not count."""
    folded = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def clearly_helps(evidence: ReplayEvidence | dict | None, policy: MemoryPolicy) -> bool:
    """The auto-promotion bar: verdict helps from grounded pairs whose sign test reached p < SIGN_ALPHA,
    and a mean gain over those pairs ≥ the policy's delta. A mean delta alone never promotes."""
    if evidence is None:
        return False
    e = evidence.to_dict() if isinstance(evidence, ReplayEvidence) else evidence
    p = e.get("p_value")
    return (
        e.get("verdict") == "helps"
        and bool(e.get("enough_evidence"))
        and p is not None
        and float(p) < SIGN_ALPHA
        and int(e.get("grounded_wins") or 0) > int(e.get("grounded_losses") or 0)
        and (e.get("grounded_delta") or 0.0) >= policy.auto_promote_min_delta
    )


def describe_grounding(evidence: dict | None) -> str:
    """The grounding of a replay in plain words ("5 grounded pairs: 4 better, 1 same — sign test p=0.12 — …")."""
    if not evidence:
        return "not tested yet"
    if evidence.get("status") == "cancelled":
        return "cancelled: nothing decided"
    if "n_grounded" not in evidence:
        return "replayed before grounding was recorded: re-test it to decide"
    n_g, skipped = int(evidence.get("n_grounded") or 0), int(evidence.get("n_ungrounded") or 0)
    if not n_g:
        if not evidence.get("n"):
            return "untested: no past task to replay"
        return "no grounded pairs: the replays had no tests, so they cannot decide"
    parts = []
    for count, word in (
        (evidence.get("grounded_wins") or 0, "better"),
        (evidence.get("grounded_losses") or 0, "worse"),
        (evidence.get("grounded_ties") or 0, "same"),
    ):
        if count:
            parts.append(f"{count} {word}")
    text = f"{n_g} grounded pair{'' if n_g == 1 else 's'}: {', '.join(parts)}"
    p = evidence.get("p_value")
    if p is not None:
        text += f" — sign test p={p:.3g}"
    text += f" — {evidence.get('verdict_reason') or evidence.get('verdict')}"
    if skipped:
        text += f" ({skipped} ungrounded pair{'' if skipped == 1 else 's'} skipped)"
    return text
