"""VaultWorker: the Vault on its own "vault" QThread, so embedding and search never wait behind a chat reply.

It owns one Vault (its own SQLite connection, WAL). Indexing runs in the Vault's IndexJob thread with
yet another connection, so searches stay answerable while a folder is being embedded; a timer on the
vault thread notices when the job ends. EngineBridge creates this worker on the first vault request
and relays its facts (declared on BridgeFacts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QTimer, Slot

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.ui.bridge.facts import BridgeFacts, error_info, guarded
from purpose_desktop.ui.bridge.requests import Call, CloseRequest, IndexRequest

log = logging.getLogger(__name__)

#: Vector-only passages less similar than this are noise, not results (the vault tool's threshold).
MIN_COSINE = 0.15
#: How often the vault thread checks whether a background indexing job has ended (ms).
JOB_POLL_MS = 100


def default_vault_factory():
    from purpose_desktop.engine.vault import Vault

    return Vault()


class VaultWorker(BridgeFacts):
    """Serves vault requests on the "vault" thread; every slot catches everything."""

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

    @Slot(object)
    def on_call_requested(self, call: Call) -> None:
        """One pane request: ``call.fn(vault)``, answered by sig_call_finished or sig_call_failed."""

        def work() -> None:
            self.sig_call_finished.emit(call.id, call.fn(self._require_vault()))

        guarded(self.sig_call_failed, call.id, call.what or "a vault request", work)

    @Slot(object)
    def on_index_requested(self, req: IndexRequest) -> None:
        guarded(self.sig_vault_index_failed, req.id, "indexing", lambda: self._start_indexing(req))

    def _start_indexing(self, req: IndexRequest) -> None:
        vault = self._require_vault()
        if self._job is not None and self._job.running:
            raise PurposeError(
                "The vault is already indexing.", "Wait for it to finish, or press Cancel first."
            )
        self._job_request = req
        self._job = vault.start_indexing(
            *req.paths,
            on_progress=lambda p: self.sig_vault_index_progressed.emit(req.id, p),
            cancel=req.cancel,
        )
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setInterval(JOB_POLL_MS)
            self._timer.timeout.connect(self._check_job)
        self._timer.start()

    def _check_job(self) -> None:
        job, req = self._job, self._job_request
        if job is None or req is None or job.running:
            return
        self._timer.stop()
        self._job = self._job_request = None
        try:
            report = job.wait(0)
            if report is not None and report.cancelled:
                self.sig_vault_index_cancelled.emit(req.id, report)
            else:
                self.sig_vault_index_finished.emit(req.id, report)
        except Exception as exc:
            self.sig_vault_index_failed.emit(req.id, error_info("indexing", exc))

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
