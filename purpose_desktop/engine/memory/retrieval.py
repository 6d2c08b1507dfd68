"""Retrieval for a prompt: promoted memories in scope, ranked by relevance × trust × value, token-budgeted.

Value is the memory's utility moved by its learned expected effect on the task's family (``memory.value``:
grounded credits grouped by task family); with no grounded runs in that family it is the utility. With the
"value_of_experience" method off (``MemoryPolicy.methods_off``) it is always the utility, and memories of a
method that is off (``MemoryPolicy.set_aside_sources``: a hindsight case while hindsight is off) are left out.

A snapshot of the promoted memories (texts, scopes, weights, and a VectorIndex over the topical ones)
is cached per Store and rebuilt only when the memories change (``memory_state.generation``); the
vector index itself is reused while the set of promoted ids stays the same, so credit updates after
a run only refresh the weights. The task is embedded at most once per retriever, and only when a
topical memory could match — a store holding only preferences never loads the embedder.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from purpose_desktop.engine.families import ANY_FAMILY_TAG, FAMILY_TAG, family_tag
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.index import VectorIndex
from purpose_desktop.engine.memory.records import (
    ALWAYS_KINDS,
    ALWAYS_RELEVANCE,
    PROJECT_TAG,
    TASK_BOUND_KINDS,
    Memory,
    MemoryPolicy,
    Scope,
    effective_trust,
)
from purpose_desktop.engine.memory.repo import MemoryRepo
from purpose_desktop.engine.memory.value import adjusted_utility, family_effects, task_family

_snapshots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WORD = re.compile(r"[a-z][a-z0-9_+#.-]*")


#: The relevance of a lesson kept to the task's family (or to any family): its scope, not its words, says it applies.
FAMILY_RELEVANCE = 0.5
#: How much more a lesson kept to the attached project (tag ``project:<name>``) weighs there.
PROJECT_BOOST = 1.25


@dataclass(frozen=True)
class Retrieved:
    """One memory chosen for a prompt, with why it ranked where it did."""

    memory_id: str
    kind: str
    text: str
    relevance: float
    weight: float  # effective trust × value (utility moved by the expected effect on this task's family)
    score: float  # relevance × weight
    tokens: int
    forced: bool = False  # put in by a replay's "with" arm, not by ranking
    effect: float | None = None  # learned expected effect on this task's family (None: no grounded runs yet)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def task_tags(*texts: str) -> frozenset[str]:
    """The words of the task and purpose; a memory tagged "python" matches a task that says Python."""
    words: set[str] = set()
    for text in texts:
        for w in _WORD.findall((text or "").lower()):
            words.add(w.strip(".-"))
    return frozenset(w for w in words if w)


def approx_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class _Snapshot:
    """The promoted memories as arrays, built from one generation of the table."""

    def __init__(self, memories: list, generation: int, model: str, previous, load_vectors) -> None:
        self.generation = generation
        self.model = model
        self.always = [m for m in memories if m.kind in ALWAYS_KINDS]
        #: source (first provenance entry) → ids, so a method turned off can set its memories aside
        self.by_source: dict[str, frozenset[str]] = {}
        for m in memories:
            self.by_source[m.source] = self.by_source.get(m.source, frozenset()) | {m.id}
        # Lessons kept to task families (tag family:<name>, or family:any) say by their scope which tasks
        # they apply to; a general rule shares few words with any one task, so its topic is not ranked.
        self.scoped = [m for m in memories if m.kind not in ALWAYS_KINDS and _family_scoped(m.scope)]
        topical = [m for m in memories if m.kind not in ALWAYS_KINDS and not _family_scoped(m.scope)]
        key = (model, tuple((m.id, m.content_hash) for m in topical))
        if previous is not None and previous.key == key:
            index = previous.index  # same rows, same texts: only the weights moved
        else:
            vectors = load_vectors(topical) if topical else {}
            topical = [m for m in topical if m.id in vectors]
            key = (model, tuple((m.id, m.content_hash) for m in topical))
            matrix = (
                np.stack([vectors[m.id] for m in topical])
                if topical
                else np.zeros((0, similarity.DIM), np.float32)
            )
            index = VectorIndex(matrix)
        self.key = key
        self.index = index
        self.topical = topical
        self.ids = tuple(m.id for m in topical)
        self.row_of = {mid: row for row, mid in enumerate(self.ids)}
        self.weights = np.array([m.effective_trust * m.utility for m in topical], dtype=np.float32)
        self.task_bound = np.array([m.kind in TASK_BOUND_KINDS for m in topical], dtype=bool)
        groups: dict[tuple, int] = {}
        self.group_of = np.array(
            [groups.setdefault(m.scope.key(), len(groups)) for m in topical], dtype=np.int64
        )
        self.group_scopes = [Scope(*k) for k in groups]
        self._effects: dict | None = None  # family → memory id → (effect, n), read once per generation
        self._family_weights: dict[str, np.ndarray] = {}

    def effects(self, store) -> dict:
        if self._effects is None:
            self._effects = family_effects(store)
        return self._effects

    def weights_for(self, family: str, store) -> np.ndarray:
        """``weights`` with each memory's utility moved by its expected effect on ``family``."""
        cached = self._family_weights.get(family)
        if cached is None:
            per = self.effects(store).get(family, {})
            cached = self.weights
            if per and len(self.topical):
                cached = np.array(
                    [
                        m.effective_trust * adjusted_utility(m.utility, per[m.id][0]) if m.id in per else w
                        for m, w in zip(self.topical, self.weights, strict=True)
                    ],
                    dtype=np.float32,
                )
            self._family_weights[family] = cached
        return cached

    def mask(self, roles: tuple[str | None, ...], tools: frozenset[str], tags: frozenset[str]) -> np.ndarray:
        match = np.array(
            [any(s.matches(r, tools, tags) for r in roles) for s in self.group_scopes], dtype=bool
        )
        return match[self.group_of] if len(self.group_of) else np.zeros(0, dtype=bool)


@dataclass(frozen=True)
class _Row:
    """The slice of a promoted memory that ranking needs (a full Memory costs 10× more to load)."""

    id: str
    kind: str
    text: str
    scope: Scope
    trust: float
    utility: float
    evidence: dict | None
    content_hash: str
    source: str = ""  # who produced it (first provenance entry's source: "distil", "hindsight" …)

    @property
    def effective_trust(self) -> float:
        return effective_trust(self.trust, self.evidence)


def _promoted_rows(store) -> list[_Row]:
    scopes: dict[str, Scope] = {}
    rows = []
    with store._errors():
        cursor = store.connection.execute(
            "SELECT id, kind, text, scope_json, trust, utility, evidence_json, content_hash, "
            "json_extract(provenance_json, '$[0].source') FROM memories "
            "WHERE status = 'promoted' ORDER BY created_at, id"
        )
        for mid, kind, text, scope_json, trust, utility, evidence_json, digest, source in cursor:
            scope = scopes.get(scope_json)
            if scope is None:
                scope = scopes[scope_json] = Scope.from_dict(json.loads(scope_json or "{}"))
            evidence = json.loads(evidence_json) if evidence_json else None
            rows.append(_Row(mid, kind, text, scope, float(trust), float(utility), evidence, digest, source or ""))
    return rows


def snapshot(store, repo: MemoryRepo | None = None) -> _Snapshot:
    """The cached snapshot for ``store``, refreshed when the memories have changed."""
    repo = repo or MemoryRepo(store)
    generation = repo.generation()
    model = similarity.model_name()
    current = _snapshots.get(store)
    if current is not None and current.generation == generation and current.model == model:
        return current
    # Labelled with the generation read *before* the rows: a concurrent change makes it stale, not lost.
    snap = _Snapshot(_promoted_rows(store), generation, model, current, repo.vectors)
    _snapshots[store] = snap
    return snap


def _family_scoped(scope: Scope) -> bool:
    return any(t.startswith(FAMILY_TAG) for t in scope.tags)


def _matches(
    scope: Scope, roles: tuple[str | None, ...], tools: frozenset[str], tags: frozenset[str]
) -> bool:
    return any(scope.matches(r, tools, tags) for r in roles)


class MemoryRetriever:
    """Chooses the memories for each step of one run (one task)."""

    def __init__(
        self,
        store,
        policy: MemoryPolicy | None = None,
        *,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or MemoryPolicy()
        self.count_tokens = count_tokens or approx_tokens
        self._query: tuple[str, np.ndarray] | None = None

    def _query_vector(self, text: str) -> np.ndarray:
        if self._query is None or self._query[0] != text:
            self._query = (text, similarity.embed([text])[0])
        return self._query[1]

    def for_step(
        self,
        *,
        task: str,
        role: str | None,
        roles: Iterable[str] = (),
        tags: Iterable[str] = (),
        tools: Iterable[str] = (),
        purpose: str = "",
        include: Sequence[Memory] = (),
        exclude: Iterable[str] = (),
        query_vector: np.ndarray | None = None,
        top_k: int | None = None,
        token_budget: int | None = None,
    ) -> list[Retrieved]:
        """Memories for one step: ``include`` first (a replay's subject), then the best ranked, within budget.

        ``roles`` widens the scope check: a memory scoped to any of them (or to ``role``, or to no role)
        may be chosen — chat answers as the assistant *and* as the coding team's roles. ``tags`` are added
        to the task's words (e.g. ``project:<name>``, so a project's lessons apply inside it).
        """
        top_k = self.policy.top_k if top_k is None else top_k
        budget = self.policy.token_budget if token_budget is None else token_budget
        tools = frozenset(t.lower() for t in tools)
        family = task_family(task)
        # A lesson kept to a family (tag family:<name>) applies to that family's tasks; family:any to all.
        tags = task_tags(task, purpose) | {str(t).lower() for t in tags} | {family_tag(family), ANY_FAMILY_TAG}
        role = (role or "").lower() or None
        as_roles = tuple(dict.fromkeys([role, *((r or "").lower() or None for r in roles)]))
        snap = snapshot(self.store)
        excluded = set(exclude) | {m.id for m in include}
        for source in self.policy.set_aside_sources:  # a method turned off: what it produced is not used
            excluded |= snap.by_source.get(source, frozenset())
        valued = self.policy.uses("value_of_experience")
        effects = snap.effects(self.store).get(family, {}) if valued else {}
        ranked: list[Retrieved] = []
        for m in include:
            if _matches(m.scope, as_roles, tools, tags):
                ranked.append(self._retrieved(m, 1.0, forced=True, effect=effects.get(m.id)))
        candidates: list[Retrieved] = []
        for m in snap.always:
            if m.id not in excluded and _matches(m.scope, as_roles, tools, tags):
                candidates.append(self._retrieved(m, ALWAYS_RELEVANCE, effect=effects.get(m.id)))
        for m in snap.scoped:
            if m.id not in excluded and _matches(m.scope, as_roles, tools, tags):
                candidates.append(self._retrieved(m, FAMILY_RELEVANCE, effect=effects.get(m.id)))
        if snap.ids:
            mask = snap.mask(as_roles, tools, tags)
            rows = [snap.row_of[i] for i in excluded if i in snap.row_of]
            if rows:
                mask = mask.copy()
                mask[rows] = False
            if mask.any():
                q = query_vector if query_vector is not None else self._query_vector(task)
                floors = np.where(snap.task_bound, self.policy.min_relevance_case, self.policy.min_relevance)
                weights = snap.weights_for(family, self.store) if valued else snap.weights
                for hit in snap.index.search(q, top_k, weights=weights, mask=mask, min_similarity=floors):
                    m = snap.topical[hit.row]
                    candidates.append(self._retrieved(m, hit.similarity, effect=effects.get(m.id)))
        here = {t for t in tags if t.startswith(PROJECT_TAG)}  # the attached project's lessons rank higher there
        if here:
            mine = {m.id for m in (*snap.always, *snap.topical) if here & set(m.scope.tags)}
            candidates = [replace(r, score=round(r.score * PROJECT_BOOST, 4)) if r.memory_id in mine else r for r in candidates]
        candidates.sort(key=lambda r: (-r.score, r.memory_id))
        chosen, used = [], 0
        for r in ranked + candidates:
            if len(chosen) >= top_k and not r.forced:
                break
            if used + r.tokens > budget and not r.forced:
                continue
            chosen.append(r)
            used += r.tokens
        return chosen

    def _retrieved(
        self, m: Memory, relevance: float, *, forced: bool = False, effect: tuple[float, int] | None = None
    ) -> Retrieved:
        value = adjusted_utility(m.utility, effect[0]) if effect else m.utility
        weight = m.effective_trust * value
        return Retrieved(
            m.id,
            m.kind,
            m.text,
            round(relevance, 4),
            round(weight, 4),
            round(relevance * weight, 4),
            self.count_tokens(m.text),
            forced,
            effect[0] if effect else None,
        )
