"""The learned detector's embedding head: the bundled model has one, the two heads are combined as trained,
the scan computes an embedding when the process's embedder is loaded, and the Vault looks again at every
chunk once it has the chunk's vector (withholding what the combined verdict flags)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from purpose_desktop.engine.immune import LEARNED_RULE, learned, scan
from purpose_desktop.engine.vault import Vault
from purpose_desktop.engine.vault.embed import DEFAULT_MODEL_NAME
from tests.engine.test_immune_learned import NOVEL, ORDINARY

LABELS = ("benign", "injection", "score_manipulation", "tool_misuse", "exfiltration", "prompt_leak", "secret")
E1 = np.eye(384, dtype=np.float32)[0]  # the synthetic head reads this direction as an injection
E2 = np.eye(384, dtype=np.float32)[1]  # … and this one as benign


def synthetic() -> learned.LearnedDetector:
    """An n-gram head that is never sure (P(attack) 0.45 everywhere) and an embedding head that is sure
    of E1 (injection) and E2 (benign): only the combination can flag, and only with E1."""
    w = np.zeros((learned.DIM, len(LABELS)), dtype=np.float32)
    b = np.array([2.0, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    ew = np.zeros((384, len(LABELS)), dtype=np.float32)
    ew[0, 1] = 20.0
    eb = np.array([5.0, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    return learned.LearnedDetector.from_arrays(
        {
            "labels": np.array(LABELS),
            "w": w,
            "b": b,
            "ew": ew,
            "eb": eb,
            "threshold": 0.9,
            "threshold_combined": 0.6,
            "version": "synthetic",
        }  # fmt: skip
    )


@pytest.fixture
def installed():
    """The synthetic detector in place of the bundled one, for scan() and the Vault."""
    det = synthetic()
    learned.clear_cache()
    learned._loaded[str(learned.default_path())] = det
    yield det
    learned.clear_cache()
    learned.use_embedder(None)


def test_bundled_model_has_an_embedding_head_and_the_files_stay_small():
    learned.clear_cache()
    det = learned.detector()
    assert det.has_embedding_head and det.ew.shape == (384, len(LABELS))
    info = learned.model_info()
    assert info["embedding_head"] and 0.5 <= info["threshold_combined"] < 1.0
    folder = Path(info["path"]).parent
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 5 * 1024 * 1024


def test_the_two_heads_are_averaged_and_the_combined_threshold_applies():
    det = synthetic()
    text = "The quarterly report is attached for your review."
    alone = det.detect(text)
    assert alone is not None and not alone.flagged and alone.heads == "n-gram"
    assert alone.confidence == pytest.approx(
        5 / (6 + np.e**2), abs=1e-3
    )  # five attack classes; secret is not one
    both = det.detect(text, E1)
    assert both.flagged and both.heads == "n-gram + embedding" and both.category == "injection"
    assert both.confidence == pytest.approx((alone.confidence + 1.0) / 2, abs=1e-3)
    benign = det.detect(text, E2)
    assert not benign.flagged and benign.confidence < alone.confidence
    # The embedding is read as a direction: its length does not matter.
    assert det.detect(text, 3.0 * E1).confidence == both.confidence


def test_scan_computes_the_embedding_with_the_registered_embedder(installed):
    text = "The quarterly report is attached for your review."
    calls: list[str] = []

    def embed(t: str):
        calls.append(t)
        return E1

    assert not scan(text).blocked  # no embedder registered: the n-gram head alone
    learned.use_embedder(embed)
    result = scan(text)
    assert calls == [text] and result.blocked
    finding = next(f for f in result.reasons if f.rule == LEARNED_RULE)
    assert "n-gram + embedding" in finding.message and finding.category == "injection"
    # A caller that has the vector passes it: nothing is computed.
    assert scan(text, embedding=E2).blocked is False and calls == [text]
    assert scan(text, compute_embedding=False).blocked is False and calls == [text]

    def broken(t: str):
        raise RuntimeError("torch is busy")

    learned.use_embedder(broken)
    assert scan(text).blocked is False  # the scan never fails because the embedder did
    learned.use_embedder(lambda t: None)  # registered but not loaded yet
    assert scan(text).blocked is False


class MarkerEmbedder:
    """Named like the bundled model; texts that mention the harbour point along E1, the rest along E2."""

    name = DEFAULT_MODEL_NAME

    def encode(self, texts):
        return np.stack([E1 if "harbour" in t else E2 for t in texts])


def test_the_vault_withholds_chunks_the_combined_verdict_flags_once_they_are_embedded(installed, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("The harbour schedule changes on Monday; ferries leave at nine.\n")
    (docs / "b.md").write_text("The library opens at ten and closes at six on weekdays.\n")
    with Vault.from_directory(docs, store=tmp_path / "v.db", embedder=MarkerEmbedder()) as vault:
        rows = dict(vault._store().connection.execute("SELECT text, flagged FROM vault_chunks").fetchall())
        flagged = {text.split()[1]: value for text, value in rows.items()}
        assert flagged == {"harbour": 1, "library": 0}
        report = (
            vault._store()
            .connection.execute("SELECT scan_json FROM vault_chunks WHERE flagged = 1")
            .fetchone()[0]
        )
        assert LEARNED_RULE in report and "n-gram + embedding" in report
        assert "a.md" not in [h.rel_path for h in vault.query("harbour ferries", k=5)]  # withheld


def test_a_vault_with_another_embedder_is_not_read_by_the_embedding_head(installed, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("The harbour schedule changes on Monday; ferries leave at nine.\n")
    other = MarkerEmbedder()
    other.name = "some-other-model"
    with Vault.from_directory(docs, store=tmp_path / "v.db", embedder=other) as vault:
        assert vault._store().connection.execute("SELECT flagged FROM vault_chunks").fetchone()[0] == 0


@pytest.mark.model
def test_real_minilm_embeddings_keep_the_verdicts_of_the_bundled_model():
    """With all-MiniLM-L6-v2 vectors (what the Vault stores), the combined verdict still flags novel attacks
    with their category and leaves ordinary developer text alone; the embedding head alone ranks them too."""
    from purpose_desktop.engine.vault.embed import default_embedder

    learned.clear_cache()
    det = learned.detector()
    texts = list(NOVEL.values()) + ORDINARY
    vectors = default_embedder().encode(texts)
    for (category, text), vec in zip(NOVEL.items(), vectors, strict=False):
        found = det.detect(text, vec)
        assert found.flagged and found.heads == "n-gram + embedding", (category, found)
        assert found.category == category, (category, found.probabilities)
    for text, vec in zip(ORDINARY, vectors[len(NOVEL) :], strict=True):
        found = det.detect(text, vec)
        assert not found.flagged, (text, found.probabilities)
    attack = [float(det._embed_probs(v)[det._attack].sum()) for v in vectors]
    assert min(attack[: len(NOVEL)]) > max(attack[len(NOVEL) :])
