"""Benchmark of the immune scan over the dev set: per-category recall, benign false positives and scan time (JSON)."""

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


def evaluate(split: str = "all", *, show_misses: bool = False) -> dict:
    attacks = load("attacks.jsonl", split)
    benign = load("benign.jsonl", split)
    times: list[float] = []
    hits = {category: [0, 0] for category in CATEGORIES}
    misses, false_positives = [], []
    for row in attacks:
        start = time.perf_counter()
        result = scan(row["text"])
        times.append((time.perf_counter() - start) * 1000)
        hits[row["category"]][1] += 1
        if result.blocked:
            hits[row["category"]][0] += 1
        else:
            misses.append({"category": row["category"], "obfuscation": row["obfuscation"], "text": row["text"][:160]})
    fp = 0
    for row in benign:
        start = time.perf_counter()
        result = scan(row["text"])
        times.append((time.perf_counter() - start) * 1000)
        if result.blocked:
            fp += 1
            false_positives.append({"text": row["text"][:160], "rules": [f.rule for f in result.reasons if f.blocking]})
    times.sort()
    report = {
        "split": split,
        "per_category_recall": {c: round(h / n, 4) if n else None for c, (h, n) in hits.items()},
        "benign_fp_rate": round(fp / len(benign), 4) if benign else None,
        "scan_ms_p50": round(statistics.median(times), 4),
        "scan_ms_p99": round(times[min(len(times) - 1, int(0.99 * len(times)))], 4),
        "n_attacks": len(attacks),
        "n_benign": len(benign),
    }
    if show_misses:
        report["misses"] = misses
        report["false_positives"] = false_positives
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=["all", "dev", "test"], default="all")
    parser.add_argument("--show-misses", action="store_true", help="list missed attacks and false positives")
    args = parser.parse_args(argv)
    for _ in range(2):  # warm caches (regex compilation is at import; char folding is memoised)
        evaluate(args.split)
    print(json.dumps(evaluate(args.split, show_misses=args.show_misses), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
