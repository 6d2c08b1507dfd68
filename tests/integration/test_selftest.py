"""`purpose-desktop --self-test` as CI runs it on the frozen app: a subprocess, the real model, JSON out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from purpose_desktop import selftest

CHECKS = {"database", "model", "embed_search", "sandbox", "sandbox_pytest", "immune", "serve"}


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_self_test_passes_and_reports_every_check(_isolated_home):
    out = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "--self-test"],
        capture_output=True,
        text=True,
        timeout=900,
        env=os.environ.copy(),
    )
    report = json.loads(out.stdout)
    assert out.returncode == 0, f"{out.stderr}\n{json.dumps(report, indent=1)[-3000:]}"
    assert report["ok"] is True and report["failed"] == []
    assert set(report["checks"]) == CHECKS
    for name, check in report["checks"].items():
        assert check["ok"] is True, name
        assert check["ms"] >= 0 and isinstance(check["detail"], dict)
    assert report["checks"]["model"]["detail"]["n_tokens"] > 0
    assert report["checks"]["model"]["detail"]["reply"]
    assert report["checks"]["embed_search"]["detail"]["top_hit"] == "python.md"
    assert report["checks"]["sandbox"]["detail"]["stdout"] == "45 3"
    assert report["checks"]["sandbox_pytest"]["detail"] == {"passed": 1, "failed": 0}
    versions = report["versions"]
    assert versions["frozen"] is False and versions["purpose_desktop"] and versions["llama_cpp"]
    # The whole embedding stack is named (a transformers release once pulled in `kernels` and broke the app).
    assert versions["transformers"] and versions["kernels"] and versions["sentence-transformers"]
    assert report["lock"]["matches"] is True, report["lock"]
    # A temporary data folder, removed afterwards: the person's own folder is never touched.
    assert report["data_dir"] != str(_isolated_home)
    assert not Path(report["data_dir"]).exists()
    assert list(_isolated_home.iterdir()) == []


def test_a_failed_check_is_named_and_the_exit_status_is_one(monkeypatch, capsys):
    def broken() -> dict:
        raise selftest.CheckFailed("the model produced no text")

    monkeypatch.setattr(selftest, "CHECKS", [("database", selftest.check_database), ("model", broken)])
    code = selftest.main()
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert code == 1
    assert report["ok"] is False and report["failed"] == ["model"]
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["model"]["detail"]["error"] == "CheckFailed: the model produced no text"
    assert "self-test failed: model: CheckFailed: the model produced no text" in out.err


def test_data_mode_uses_the_real_data_folder(monkeypatch, capsys, _isolated_home):
    monkeypatch.setattr(selftest, "CHECKS", [("database", selftest.check_database)])
    assert selftest.main(use_data_dir=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data_dir"] == str(_isolated_home)
    assert report["checks"]["database"]["detail"]["path"] == str(_isolated_home / "purpose.db")
    assert (_isolated_home / "purpose.db").exists()  # kept: it is the person's database


def test_cli_flag_runs_the_self_test(monkeypatch):
    from purpose_desktop import cli

    seen = []
    monkeypatch.setattr(selftest, "main", lambda use_data_dir=False: seen.append(use_data_dir) or 7)
    assert cli.main(["--self-test"]) == 7
    assert cli.main(["--self-test", "data"]) == 7
    assert seen == [False, True]
