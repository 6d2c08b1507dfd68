"""``purpose-desktop mcp``: an MCP server (stdio) over what the person approved, built on the SDK's MCPServer.

Tools: ``search_memories`` (promoted memories only), ``search_vault`` (cited passages; chunks the immune
scan flagged are withheld, as in chat), ``propose_lesson`` (scanned; a clean one lands quarantined for
the person's review, a poisoned one is rejected with its reason; a caller can never promote or
strengthen anything) and ``run_python_tests`` (the sandbox, with the critic's limits; a refusal is
"not run", never "failed"). One worker thread owns the Store and the Vault (SQLite objects stay on
the thread that opened them); stdout carries only the protocol.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from purpose_desktop.engine.errors import InputError, PurposeError

log = logging.getLogger(__name__)

SERVER_NAME = "purpose-desktop"
MAX_QUERY_CHARS = 2_000
MAX_LESSON_CHARS = 2_000
MAX_CODE_CHARS = 200_000
LIMIT_RANGE = (1, 20)
TEST_TIMEOUT_RANGE = (1.0, 60.0)
#: What a proposal may be: how work is done, not who the person is (preferences are theirs to teach).
PROPOSABLE_KINDS = ("skill_card", "failure_pattern", "tool_policy", "episodic_case")
PROVENANCE_SOURCE = "mcp"

INSTRUCTIONS = (
    "Purpose Desktop's approved lessons, the person's Vault (their own files, with citations) and a "
    "sandbox for Python tests, all on this computer. Lessons you propose wait for the person's review."
)


class PurposeTools:
    """The four tools' work, on one Store (and Vault) opened lazily on the calling thread.

    Every method returns a JSON-safe dict; bad input raises InputError with what to send instead.
    """

    def __init__(self, store=None, *, vault_factory: Callable[[Any], Any] | None = None, runner=None) -> None:
        self._store = store
        self._vault = None
        self._vault_factory = vault_factory
        self._runner = runner

    @property
    def store(self):
        if self._store is None:
            from purpose_desktop.engine.store import Store

            self._store = Store()
        return self._store

    def vault(self):
        if self._vault is None:
            if self._vault_factory is not None:
                self._vault = self._vault_factory(self.store)
            else:
                from purpose_desktop.engine.vault import Vault

                self._vault = Vault(self.store)
        return self._vault

    def close(self) -> None:
        if self._vault is not None:
            self._vault.close()
            self._vault = None
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- the tools --------------------------------------------------------------------------------
    def search_memories(self, query: str, limit: int = 5) -> dict:
        from purpose_desktop.engine.chat.context import has_promoted_memories
        from purpose_desktop.engine.memory import MemoryBank
        from purpose_desktop.engine.memory.retrieval import MemoryRetriever

        query = _query(query)
        limit = _limit(limit)
        if not has_promoted_memories(self.store):
            return {"memories": [], "note": "The person has not approved any lessons yet."}
        chosen = MemoryRetriever(self.store).for_step(
            task=query, role=None, top_k=limit, token_budget=100_000
        )
        bank = MemoryBank(self.store)
        out = []
        for r in chosen[:limit]:
            m = bank.get(r.memory_id)
            if m.status != "promoted":  # retrieval reads promoted rows only; kept as a second lock
                continue
            out.append(
                {
                    "id": m.id,
                    "kind": m.kind,
                    "text": m.text,
                    "trust": round(float(m.trust), 3),
                    "relevance": round(float(r.relevance), 3),
                    "status": m.status,
                }
            )
        return {"memories": out}

    def search_vault(self, query: str, limit: int = 4) -> dict:
        from purpose_desktop.engine.chat.context import has_vault_chunks
        from purpose_desktop.engine.vault.vault import TOOL_MIN_COSINE

        query = _query(query)
        limit = _limit(limit)
        if not has_vault_chunks(self.store):
            return {"passages": [], "withheld": [], "note": "The Vault is empty."}
        ranked = self.vault().query(query, limit * 2, include_flagged=True, min_cosine=TOOL_MIN_COSINE)
        passages: list[dict] = []
        withheld: list[dict] = []
        for hit in ranked:
            if hit.flagged:  # its text never leaves: only where it is and why it was withheld
                withheld.append(
                    {
                        "citation": hit.citation,
                        "reason": "; ".join(f"{f.get('category')}: {f.get('message')}" for f in hit.findings)
                        or "flagged by the immune scan",
                    }
                )
            elif len(passages) < limit:
                passages.append(
                    {
                        "n": len(passages) + 1,
                        "citation": hit.citation,
                        "path": hit.path,
                        "title": hit.title,
                        "page": hit.page,
                        "text": hit.text,
                        "score": round(float(hit.score), 4),
                    }
                )
        return {"passages": passages, "withheld": withheld}

    def propose_lesson(self, text: str, kind: str = "skill_card", why: str = "") -> dict:
        from purpose_desktop.engine.immune import scan
        from purpose_desktop.engine.memory import MemoryBank

        if not isinstance(text, str) or not text.strip():
            raise InputError("The lesson is empty.", "Send the lesson as one or two sentences in 'text'.")
        if len(text) > MAX_LESSON_CHARS:
            raise InputError(
                f"The lesson is {len(text):,} characters long.", f"Keep it under {MAX_LESSON_CHARS:,}."
            )
        if kind not in PROPOSABLE_KINDS:
            raise InputError(
                f"A proposal cannot be of kind {kind!r}.", f"Use one of: {', '.join(PROPOSABLE_KINDS)}."
            )
        why = str(why or "")[:500]
        bank = MemoryBank(self.store)
        provenance = {"source": PROVENANCE_SOURCE, "why": why} if why else {"source": PROVENANCE_SOURCE}
        report = scan(text, context="memory")
        if not report.blocked:
            existing, similarity = bank.find_duplicate(text)
            if existing is not None:  # a caller may not strengthen (raise the trust of) what exists
                return {
                    "outcome": "already_known",
                    "id": existing.id,
                    "status": existing.status,
                    "similarity": similarity,
                    "message": "A lesson like this already exists; nothing was changed.",
                }
        result = bank.submit(text, kind=kind, provenance=provenance, actor=PROVENANCE_SOURCE, taught=False)
        m = result.memory
        if result.outcome in ("rejected", "seen_again") and m.scan.get("blocked"):
            return {
                "outcome": "rejected",
                "id": m.id,
                "status": m.status,
                "reason": _block_reason(m.scan),
                "message": "The immune scan rejected this lesson; it will never reach a prompt.",
            }
        return {
            "outcome": m.status,
            "id": m.id,
            "status": m.status,
            "message": "Held in quarantine for the person's review in Memory; it is not used until they approve it.",
        }

    def run_python_tests(self, code: str, tests: str, timeout_s: float = 20.0) -> dict:
        from purpose_desktop.engine.critic import PurposeFunction

        for name, value in (("code", code), ("tests", tests)):
            if not isinstance(value, str) or not value.strip():
                raise InputError(
                    f"'{name}' is empty.",
                    "Send the solution as 'code' and pytest-style tests "
                    "(which import from solution) as 'tests'.",
                )
            if len(value) > MAX_CODE_CHARS:
                raise InputError(f"'{name}' is longer than {MAX_CODE_CHARS:,} characters.", "Send less.")
        lo, hi = TEST_TIMEOUT_RANGE
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not lo <= timeout_s <= hi:
            raise InputError(
                f"timeout_s must be from {lo:g} to {hi:g} seconds.", "Send a number in that range."
            )
        critic = PurposeFunction(runner=self._runner)
        outcome = critic.run_tests(code, tests, source="given", timeout_s=float(timeout_s))
        if outcome.refused:
            verdict = "not run"
        elif outcome.timed_out:
            verdict = "timed out"
        elif outcome.all_passed:
            verdict = "passed"
        elif outcome.total == 0:
            verdict = "no tests ran"
        else:
            verdict = "failed"
        return {
            "verdict": verdict,
            "passed": outcome.passed,
            "failed": outcome.failed,
            "timed_out": outcome.timed_out,
            "output": outcome.output,
            **({"why_not_run": outcome.output} if outcome.refused else {}),
        }


def _query(query: Any) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InputError("The query is empty.", "Send a few words describing what to find.")
    return query[:MAX_QUERY_CHARS]


def _limit(limit: Any) -> int:
    lo, hi = LIMIT_RANGE
    if isinstance(limit, bool) or not isinstance(limit, int) or not lo <= limit <= hi:
        raise InputError(f"limit must be a whole number from {lo} to {hi}.", "Send a smaller limit.")
    return limit


def _block_reason(report: dict) -> str:
    first = next((r for r in report.get("reasons", []) if r.get("blocking")), None)
    if first is None:
        return f"immune scan: {report.get('category')}"
    return f"immune scan: {first['category']} — {first['message']}"


class _OneThread:
    """Runs every tool on one dedicated thread (SQLite and the Vault stay on the thread that opened them)."""

    def __init__(self, tools: PurposeTools) -> None:
        self.tools = tools
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcp-store")
        self._lock = threading.Lock()

    async def call(self, name: str, **kwargs) -> dict:
        from mcp.server.mcpserver.exceptions import ToolError

        loop = asyncio.get_running_loop()

        def work() -> dict:
            try:
                return getattr(self.tools, name)(**kwargs)
            except PurposeError as exc:
                # The SDK sends a ToolError's text to the client as an is_error result (anything else
                # becomes a bare "Error executing tool", which tells the caller nothing to fix).
                raise ToolError(f"{exc.message} {exc.hint}".strip()) from exc

        return await loop.run_in_executor(self._pool, work)

    def close(self) -> None:
        self._pool.submit(self.tools.close).result()
        self._pool.shutdown()


def build_server(tools: PurposeTools | None = None):
    """The MCPServer with the four tools (not running); ``tools`` default to the user's data folder."""
    from mcp.server.mcpserver import MCPServer

    runner = _OneThread(tools or PurposeTools())
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS)

    @server.tool(
        description="Search the lessons the person approved (promoted memories only). Returns each "
        "lesson's id, kind, trust and text, best first."
    )
    async def search_memories(query: str, limit: int = 5) -> dict:
        return await runner.call("search_memories", query=query, limit=limit)

    @server.tool(
        description="Search the person's Vault (their own files). Returns passages with citations "
        "(path:start-end); passages the immune scan flagged are withheld and listed with why."
    )
    async def search_vault(query: str, limit: int = 4) -> dict:
        return await runner.call("search_vault", query=query, limit=limit)

    @server.tool(
        description="Propose a lesson (kind: skill_card, failure_pattern, tool_policy or episodic_case). "
        "It is scanned and held in quarantine until the person reviews it; it is never used before "
        "they approve it. A lesson the immune scan rejects is refused with the reason."
    )
    async def propose_lesson(text: str, kind: str = "skill_card", why: str = "") -> dict:
        return await runner.call("propose_lesson", text=text, kind=kind, why=why)

    @server.tool(
        description="Run pytest-style tests against Python code in Purpose Desktop's sandbox (no network, "
        "home folder hidden, time and memory capped). The code is saved as solution.py; the tests "
        "import from it. Returns the verdict (passed, failed, timed out, or not run and why), the "
        "counts and pytest's output."
    )
    async def run_python_tests(code: str, tests: str, timeout_s: float = 20.0) -> dict:
        return await runner.call("run_python_tests", code=code, tests=tests, timeout_s=timeout_s)

    server._purpose_runner = runner  # closed by serve_stdio
    return server


def serve_stdio(tools: PurposeTools | None = None) -> None:
    """Serve on stdin/stdout until the client closes them."""
    server = build_server(tools)
    try:
        server.run("stdio")
    finally:
        server._purpose_runner.close()
