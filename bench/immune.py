"""Benchmark of the immune scan: the dev set, and the learned detector in-distribution and leave-one-source-out (JSON).

Sections:
  dev_set        the rules + the n-gram head over tests/data/immune (the project's own set), as before;
  corpus         the training corpus (scripts/immune_data): per-category recall and benign false-positive
                 rate of the rules alone, the n-gram head, the embedding head, the two heads combined, and
                 the rules with each (``rules+ngram``: a scan without an embedding; ``rules+combined``: with
                 one), measured in-distribution (k-fold over rows) and leave-one-source-out (train without
                 a source, test on it; the thresholds are chosen on the training sources only);
  latency        p50/p99 of scan() per memory-sized text: no embedding, a precomputed one, and computing it;
  unseen         what nothing was fitted to: false positives on 20,000 paragraphs of third-party docstrings
                 from the venv, and the fresh set (bench/suites/immune/fresh.jsonl) written blind during the
                 third round of rules;
  languages      passages in languages the scan does not read (bench/suites/immune/languages.jsonl): attacks
                 in 14 languages no training source holds, English text quoting a foreign passage, and
                 Django's own UI translations in 40 languages, held or passed per scan context.
``--quick`` skips the retraining (dev set and latency only). Embeddings of the corpus are computed once with
the bundled all-MiniLM-L6-v2 and cached (~/.cache/purpose-desktop-immune).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purpose_desktop.engine.immune import CATEGORIES, scan  # noqa: E402
from purpose_desktop.engine.immune.learned import LearnedDetector  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import train_immune  # noqa: E402

train_immune.NGRAM_CACHE = Path.home() / ".cache" / "purpose-desktop-immune" / "folds"

DATA = ROOT / "tests" / "data" / "immune"
MARK = "<<SPLIT>>"  # keeps key-shaped fakes in the data files from tripping secret scanners


def load(name: str, split: str = "all") -> list[dict]:
    rows = []
    with open(DATA / name, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                row["text"] = row["text"].replace(MARK, "")
                if split in ("all", row["split"]):
                    rows.append(row)
    return rows


def _timed_scan(text: str, repeats: int):
    """Scan ``text`` ``repeats`` times; the fastest run is its cost without scheduler noise from other work."""
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = scan(text, compute_embedding=False)
        best = min(best, time.perf_counter() - start)
    return result, best * 1000


def evaluate(split: str = "all", *, show_misses: bool = False, repeats: int = 3) -> dict:
    attacks = load("attacks.jsonl", split)
    benign = load("benign.jsonl", split)
    times: list[float] = []
    hits = {category: [0, 0, 0] for category in CATEGORIES}  # blocked, blocked with this category, total
    misses, false_positives = [], []
    for row in attacks:
        result, ms = _timed_scan(row["text"], repeats)
        times.append(ms)
        counts = hits[row["category"]]
        counts[2] += 1
        if result.blocked:
            counts[0] += 1
            counts[1] += result.category == row["category"]
        else:
            misses.append(
                {"category": row["category"], "obfuscation": row["obfuscation"], "text": row["text"][:160]}
            )
    fp = 0
    for row in benign:
        result, ms = _timed_scan(row["text"], repeats)
        times.append(ms)
        if result.blocked:
            fp += 1
            false_positives.append(
                {"text": row["text"][:160], "rules": [f.rule for f in result.reasons if f.blocking]}
            )
    times.sort()
    report = {
        "split": split,
        "per_category_recall": {c: round(b / n, 4) if n else None for c, (b, _, n) in hits.items()},
        "per_category_exact": {c: round(e / n, 4) if n else None for c, (_, e, n) in hits.items()},
        "benign_fp_rate": round(fp / len(benign), 4) if benign else None,
        "scan_ms_p50": round(statistics.median(times), 4),
        "scan_ms_p99": round(times[min(len(times) - 1, int(0.99 * len(times)))], 4),
        "scan_ms_max": round(times[-1], 4),
        "timing": f"fastest of {repeats} runs per text",
        "n_attacks": len(attacks),
        "n_benign": len(benign),
    }
    if show_misses:
        report["misses"] = misses
        report["false_positives"] = false_positives
    return report


ATTACK_LABELS = train_immune.LABELS[1:]
#: What each column means: which verdicts flag a row. "rules+ngram" is what the app does when it has no
#: embedding of the text; "rules+combined" what it does with one (Vault chunks, or when it embeds).
VIEWS = {
    "rules": lambda v: v["rules"],
    "ngram": lambda v: v["ngram"],
    "embedding": lambda v: v["embedding"],
    "combined": lambda v: v["combined"],
    "either_head": lambda v: v["ngram"] or v["embedding"],  # an alternative combination, for comparison
    "rules+ngram": lambda v: v["rules"] or v["ngram"],
    "rules+combined": lambda v: v["rules"] or v["combined"],
    "rules+either_head": lambda v: v["rules"] or v["ngram"] or v["embedding"],
}


def _score_rows(
    arrays: dict, rows: list[dict], idx: list[int], emb, rules: dict[int, bool], out: dict[int, dict]
) -> None:
    det = LearnedDetector.from_arrays(arrays)
    t_embed = float(arrays["threshold_embedding"])
    for i in idx:
        text = rows[i]["text"]
        ngram = det.detect(text)
        both = det.detect(text, emb[i])
        out[i] = {
            "rules": rules[i],
            "ngram": bool(ngram and ngram.flagged),
            "embedding": train_immune.embedding_attack(det, text, emb[i]) >= t_embed,
            "combined": bool(both and both.flagged),
            "category": both.category if both else None,
        }


def _summary(rows: list[dict], verdicts: dict[int, dict]) -> dict:
    out: dict = {}
    for name, pick in VIEWS.items():
        per: dict = {}
        for label in ATTACK_LABELS:
            idx = [i for i in verdicts if rows[i]["label"] == label]
            per[label] = round(sum(pick(verdicts[i]) for i in idx) / len(idx), 4) if idx else None
        benign = [i for i in verdicts if rows[i]["label"] == "benign"]
        out[name] = {
            "recall": per,
            "benign_fp_rate": round(sum(pick(verdicts[i]) for i in benign) / len(benign), 4) if benign else None,
        }
    exact = [i for i in verdicts if rows[i]["label"] != "benign" and verdicts[i]["combined"]]
    out["combined_category_agreement"] = (
        round(sum(verdicts[i]["category"] == rows[i]["label"] for i in exact) / len(exact), 4) if exact else None
    )
    return out


def corpus_report(folds: int = 2, log=lambda m: print(m, file=sys.stderr, flush=True)) -> dict:
    """In-distribution (k-fold over rows) and leave-one-source-out numbers for both heads, their
    combination and the rules."""
    import random

    rows = train_immune.load_corpus()
    texts = [r["text"] for r in rows]
    x = train_immune.matrix(texts)
    emb = train_immune.embed(texts, log=log)
    rules = {i: scan(t, learned=False).blocked for i, t in enumerate(texts)}
    log("rules scored")
    sources = sorted({r["source"] for r in rows})
    report: dict = {"rows": len(rows), "sources": {}}
    quiet = lambda m: None  # noqa: E731
    # In-distribution: rows shuffled into k folds regardless of source.
    order = list(range(len(rows)))
    random.Random(train_immune.SEED).shuffle(order)
    verdicts: dict[int, dict] = {}
    for k in range(folds):
        test = sorted(order[k::folds])
        test_set = set(test)
        train_idx = [i for i in range(len(rows)) if i not in test_set]
        arrays = train_immune.fit_arrays(rows, x, train_idx, emb, seed=train_immune.SEED + k, refit=False, log=quiet)
        _score_rows(arrays, rows, test, emb, rules, verdicts)
        log(f"in-distribution fold {k + 1}/{folds} done")
    report["in_distribution"] = {"folds": folds, **_summary(rows, verdicts)}
    # Leave one source out: nothing from the source is seen in training or in choosing the thresholds.
    verdicts = {}
    for source in sources:
        test = [i for i, r in enumerate(rows) if r["source"] == source]
        train_idx = [i for i, r in enumerate(rows) if r["source"] != source]
        arrays = train_immune.fit_arrays(rows, x, train_idx, emb, refit=False, log=quiet)
        part: dict[int, dict] = {}
        _score_rows(arrays, rows, test, emb, rules, part)
        verdicts.update(part)
        counts: dict[str, int] = {}
        for i in test:
            counts[rows[i]["label"]] = counts.get(rows[i]["label"], 0) + 1
        report["sources"][source] = {"counts": counts, **_summary(rows, part)}
        log(f"held out {source}: {json.dumps(report['sources'][source]['rules+combined'])}")
    report["leave_one_source_out"] = _summary(rows, verdicts)
    return report


def latency(repeats: int = 3, embed_sample: int = 200) -> dict:
    """scan() per memory-sized text (the dev set and short corpus texts): with no embedding (rules + the
    n-gram head), with a precomputed embedding (rules + both heads: Vault chunks), and computing the
    embedding with the bundled all-MiniLM-L6-v2 on one torch thread (what a memory or tool-output scan
    costs once the embedder is loaded; on ``embed_sample`` texts, it is slow)."""
    from purpose_desktop.engine.vault.embed import default_embedder, one_torch_thread

    texts = [r["text"] for r in load("attacks.jsonl") + load("benign.jsonl")]
    texts += [r["text"] for r in train_immune.load_corpus() if len(r["text"]) <= 600][::10]
    for t in texts[:50]:
        scan(t)  # warm the model load and the memoised folding
    vectors = train_immune.embed(texts)

    def timed(fn) -> list[float]:
        out = []
        for i, text in enumerate(texts):
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                fn(i, text)
                best = min(best, time.perf_counter() - start)
            out.append(best * 1000)
        return sorted(out)

    def stats(times: list[float]) -> dict:
        return {
            "scan_ms_p50": round(statistics.median(times), 3),
            "scan_ms_p99": round(times[min(len(times) - 1, int(0.99 * len(times)))], 3),
        }

    plain = timed(lambda i, t: scan(t, compute_embedding=False))
    given = timed(lambda i, t: scan(t, embedding=vectors[i]))
    embedder = default_embedder()
    model = embedder.load()
    step = max(1, len(texts) // embed_sample)
    sample = texts[::step]
    computed = []
    for text in sample:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            with one_torch_thread():
                vec = model.encode([text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)[0]
            scan(text, embedding=vec)
            best = min(best, time.perf_counter() - start)
        computed.append(best * 1000)
    computed.sort()
    return {
        "n_texts": len(texts),
        "no_embedding": stats(plain),
        "precomputed_embedding": stats(given),
        "embedding_computed": {**stats(computed), "n_texts": len(sample)},
        "timing": f"fastest of {repeats} runs per text, rules + learned detector",
        "target_ms_p50": 5.0,
    }


FRESH = ROOT / "bench" / "suites" / "immune" / "fresh.jsonl"
LANGUAGES = ROOT / "bench" / "suites" / "immune" / "languages.jsonl"
#: Third-party packages whose docstrings no training source used (the corpus holds their READMEs at most).
UNSEEN_PACKAGES = ("numpy", "scipy", "sklearn", "transformers", "sqlite_utils", "starlette", "uvicorn", "httpx",
                   "pydantic", "jinja2", "click", "typer", "rich", "pygments", "mcp", "huggingface_hub",
                   "PyInstaller", "openai", "sympy", "networkx", "pypdf", "jsonschema", "anyio", "cryptography",
                   "fsspec", "tqdm", "yaml", "dateutil", "attr", "torch")


def unseen_docstrings(limit: int = 20000, files_per_package: int = 400) -> list[str]:
    """Paragraphs of the installed third-party packages' docstrings (a fixed, seeded sample)."""
    import ast
    import random
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    texts: list[str] = []
    for package in UNSEEN_PACKAGES:
        files = sorted((site / package).rglob("*.py"))
        random.Random(0).shuffle(files)
        for path in files[:files_per_package]:
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="ignore"))
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node)
                    if doc and len(doc) > 60:
                        texts.extend(p[:1500] for p in doc.split("\n\n") if len(p) > 60)
    random.Random(1).shuffle(texts)
    return texts[:limit]


def unseen_report() -> dict:
    """What no rule or head was fitted to: third-party docstrings (false positives) and the fresh set
    (``bench/suites/immune/fresh.jsonl``, written blind midway through the third round of rules, never
    checked against the scan while written). Rules alone and rules + the n-gram head (a scan without an embedding)."""
    docs = unseen_docstrings()
    flagged = [t for t in docs if scan(t, learned=False).blocked]
    flagged_ngram = [t for t in docs if scan(t, compute_embedding=False).blocked]
    rows = [json.loads(line) for line in FRESH.read_text(encoding="utf-8").splitlines() if line.strip()]
    fresh: dict = {}
    for view, learned in (("rules", False), ("rules+ngram", True)):
        verdicts = [(r["label"], scan(r["text"], learned=learned, compute_embedding=False).blocked) for r in rows]
        labels = sorted({label for label, _ in verdicts} - {"benign"})
        benign = [hit for label, hit in verdicts if label == "benign"]
        fresh[view] = {
            "recall": {
                label: f"{sum(h for lab, h in verdicts if lab == label)}/{sum(lab == label for lab, _ in verdicts)}"
                for label in labels
            },
            "benign_flagged": f"{sum(benign)}/{len(benign)}",
        }
    return {
        "third_party_docstrings": {
            "texts": len(docs),
            "rules_fp_rate": round(len(flagged) / len(docs), 5) if docs else None,
            "rules+ngram_fp_rate": round(len(flagged_ngram) / len(docs), 5) if docs else None,
            "rules_flagged_examples": [t[:160] for t in flagged[:10]],
        },
        "fresh_set": fresh,
    }


def languages_report() -> dict:
    """Share of each group the scan holds, per context, with the rules alone (no learned head: it was trained
    on English and on spikee's translations, so it would blur what the language check adds).

    attack          prompt-leak and override requests in Welsh, Swahili, Basque, Icelandic, Maltese, Malay,
                    Tagalog, Estonian, Latvian, Slovak, Haitian Creole, Afrikaans, Lithuanian and Xhosa —
                    after an English frame, inside an English document, two languages mixed, or alone;
    benign_mixed    English notes that quote a passage in another language (a locale string, a user's report);
    benign_foreign  Django 5.2's UI translations (BSD-3-Clause), five short paragraphs in each of 40 languages.
    In a lesson or tool output every passage the scan cannot read is held by design, benign or not; in the
    person's documents (vault) it is only flagged."""
    rows = [json.loads(line) for line in LANGUAGES.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: dict = {}
    for label in ("attack", "benign_mixed", "benign_foreign"):
        group = [r for r in rows if r["label"] == label]
        out[label] = {"n": len(group)}
        for context in ("memory", "tool", "vault"):
            held = sum(scan(r["text"], context=context, learned=False).blocked for r in group)
            out[label][f"held_{context}"] = round(held / len(group), 3) if group else None
        if label == "attack":
            kinds = sorted({r["kind"] for r in group})
            out[label]["held_memory_by_kind"] = {
                kind: f"{sum(scan(r['text'], learned=False).blocked for r in group if r['kind'] == kind)}"
                f"/{sum(r['kind'] == kind for r in group)}"
                for kind in kinds
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["all", "dev", "test"], default="all")
    parser.add_argument("--show-misses", action="store_true", help="list missed attacks and false positives")
    parser.add_argument("--repeats", type=int, default=3, help="runs per text; the fastest is reported")
    parser.add_argument("--quick", action="store_true", help="skip the in-distribution and LOSO retraining")
    parser.add_argument("--folds", type=int, default=2, help="folds for the in-distribution numbers")
    args = parser.parse_args(argv)
    evaluate(args.split, repeats=1)  # warm the memoised character folding
    report = {
        "dev_set": evaluate(args.split, show_misses=args.show_misses, repeats=args.repeats),
        "latency": latency(args.repeats),
        "unseen": unseen_report(),
        "languages": languages_report(),
    }
    if not args.quick:
        report["corpus"] = corpus_report(args.folds)
        report["targets"] = {"loso_recall_min": 0.90, "benign_fp_max": 0.01, "scan_ms_p50_max": 5.0}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
