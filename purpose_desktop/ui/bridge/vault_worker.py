"""VaultWorker: the Vault on its own "vault" QThread, so embedding and search never wait behind a chat reply.

It owns one Vault (its own SQLite connection, WAL). Indexing runs in the Vault's IndexJob thread with
yet another connection, so searches stay answerable while a folder is being embedded; a timer on the
vault thread notices when the job ends. EngineBridge creates this worker on the first vault request
and forwards its facts; they are documented there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.ui.bridge.requests import (
    CloseRequest,
    ErrorInfo,
    IndexRequest,
    ListSourcesRequest,
    QueryVaultRequest,
    RemoveSourceRequest,
)

log = logging.getLogger(__name__)

#: Vector-only passages less similar than this are noise, not results (the vault tool's threshold).
MIN_COSINE = 0.15
#: How often the vault thread checks whether a background indexing job has ended (ms).
JOB_POLL_MS = 100


def default_vault_factory():
    from purpose_desktop.engine.vault import Vault

    return Vault()


class VaultWorker(QObject):
    """Serves vault requests on the "vault" thread; every slot catches everything."""

    sig_sources_listed = Signal(str, object)
    sig_index_progressed = Signal(str, object)
    sig_index_finished = Signal(str, object)
    sig_index_cancelled = Signal(str, object)
    sig_index_failed = Signal(str, object)
    sig_queried = Signal(str, str, object)
    sig_source_removed = Signal(str, object)
    sig_action_failed = Signal(str, object)

    def __init__(self, factory: Callable[[], object] | None = None) -> None:
        super().__init__()
        self._factory = factory or default_vault_factory
        self._vault = None
        self._job = None
        self._job_request: IndexRequest | None = None
        self._timer: QTimer | None = None

    def _require_vault(self):
        if self._vault is None:
            threading.current_thread().name = "vault"
            self._vault = self._factory()
        return self._vault

    @staticmethod
    def _fail(what: str, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, PurposeError):
            log.warning("%s failed: %s", what, exc)
        else:
            log.exception("%s failed unexpectedly", what)
        return ErrorInfo.from_exception(exc)

    @Slot(object)
    def on_sources_requested(self, req: ListSourcesRequest) -> None:
        try:
            self.sig_sources_listed.emit(req.id, self._require_vault().sources())
        except Exception as exc:
            self.sig_action_failed.emit(req.id, self._fail("listing vault sources", exc))

    @Slot(object)
    def on_index_requested(self, req: IndexRequest) -> None:
        try:
            vault = self._require_vault()
            if self._job is not None and self._job.running:
                raise PurposeError(
                    "The vault is already indexing.", "Wait for it to finish, or press Cancel first."
                )
            self._job_request = req
            self._job = vault.start_indexing(
                *req.paths,
                on_progress=lambda p: self.sig_index_progressed.emit(req.id, p),
                cancel=req.cancel,
            )
            if self._timer is None:
                self._timer = QTimer(self)
                self._timer.setInterval(JOB_POLL_MS)
                self._timer.timeout.connect(self._check_job)
            self._timer.start()
        except Exception as exc:
            self.sig_index_failed.emit(req.id, self._fail("indexing", exc))

    def _check_job(self) -> None:
        job, req = self._job, self._job_request
        if job is None or req is None or job.running:
            return
        self._timer.stop()
        self._job = self._job_request = None
        try:
            report = job.wait(0)
            if report is not None and report.cancelled:
                self.sig_index_cancelled.emit(req.id, report)
            else:
                self.sig_index_finished.emit(req.id, report)
        except Exception as exc:
            self.sig_index_failed.emit(req.id, self._fail("indexing", exc))

    @Slot(object)
    def on_query_requested(self, req: QueryVaultRequest) -> None:
        try:
            # Like the agents' tool: passages found by meaning alone must be at least this close.
            hits = self._require_vault().query(req.text, req.k, include_flagged=True, min_cosine=MIN_COSINE)
            self.sig_queried.emit(req.id, req.text, hits)
        except Exception as exc:
            self.sig_action_failed.emit(req.id, self._fail("searching the vault", exc))

    @Slot(object)
    def on_remove_requested(self, req: RemoveSourceRequest) -> None:
        try:
            self.sig_source_removed.emit(req.id, self._require_vault().remove_source(req.source_id))
        except Exception as exc:
            self.sig_action_failed.emit(req.id, self._fail("removing a vault source", exc))

    @Slot(object)
    def on_close_requested(self, req: CloseRequest) -> None:
        try:
            if self._timer is not None:
                self._timer.stop()
            if self._job is not None:
                self._job.cancel()
            if self._vault is not None:
                self._vault.close()  # waits for a running job, which keeps what it finished
            self._vault = self._job = None
        except Exception:
            log.exception("closing the vault failed")
        finally:
            req.done.set()
