"""`purpose-desktop models catalog|pull|discard` and `purpose-desktop quickstart` (a terminal first-run wizard)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from purpose_desktop.engine.errors import PurposeError

DEFAULT_PURPOSE = "Help me write Python code"
BUNDLED_LIMITS = (
    "The bundled SmolLM2-135M model keeps everything working offline, but it is too small to write "
    "reliable code."
)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")


def _fail(exc: PurposeError, as_json: bool) -> int:
    if as_json:
        _print_json(exc.to_dict())
    else:
        sys.stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
    return 1


def _progress_printer(stream: TextIO) -> Callable[[Any], None]:
    """One updating line on a terminal; a line per 10% when piped (logs stay readable)."""
    tty = stream.isatty()
    last = [-1]

    def show(p) -> None:
        if tty:
            stream.write(f"\r{p.line()}\x1b[K")
            stream.flush()
            return
        if p.phase != "downloading" or not p.total:
            return
        decile = int(10 * p.done / p.total)
        if decile != last[0]:
            last[0] = decile
            stream.write(p.line() + "\n")
            stream.flush()

    return show


def _catalog_rows() -> tuple[list[dict], Any, int | None, int | None]:
    from purpose_desktop.engine.models.catalog import estimate_speed, load_catalog, recommend
    from purpose_desktop.engine.models.download import models_dir
    from purpose_desktop.engine.models.fit import memory_info

    cat = load_catalog()
    total, available = memory_info()
    best = recommend(cat, total, available)
    folder = models_dir(create=False)
    rows = []
    for e in cat.entries:
        fit = e.fit(total, available)
        rows.append(
            {
                **e.to_dict(),
                "fit": fit.state,
                "fit_why": fit.why,
                "recommended": best is not None and e.id == best.id,
                "tokens_per_s_estimate": round(estimate_speed(e.download_size), 1),  # on this computer's CPU cores
                "downloaded": (folder / e.file).is_file(),
            }
        )
    return rows, best, total, available


def cmd_catalog(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.models.fit import human_bytes

    rows, _best, total, available = _catalog_rows()
    if args.json:
        _print_json({"total_ram": total, "available_ram": available, "models": rows})
        return 0
    print(f"This computer: {human_bytes(total)} RAM, {human_bytes(available)} free now.")
    for r in rows:
        size = ("≈" if r["size_estimated"] else "") + human_bytes(r["download_size"])
        score = next((f"{s['benchmark']} {s['value']:g}" for s in r["scores"]), "")
        flags = ("★ " if r["recommended"] else "  ") + ("✓" if r["downloaded"] else " ")
        lic = r["license"] + (" (accept)" if r["license_accept_required"] else "")
        speed = f"~{r['tokens_per_s_estimate']:.0f} tok/s"
        print(f"{flags} {r['id']:<20} {size:>9}  {r['fit']:<8} {speed:>10}  {lic:<22} {score}")
    print(
        "★ recommended for this computer (fits in RAM and not slow on its CPU cores; tok/s is an estimate) · "
        "✓ downloaded · pull one with: purpose-desktop models pull ID"
    )
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.models import download as dl

    cancel = CancelToken()
    on_progress = None if args.json else _progress_printer(sys.stderr)
    try:
        src = dl.resolve_source(args.source)
        if not args.json:
            sys.stderr.write(f"Downloading {src.label} from {src.url}\n")
        result = dl.pull(
            src,
            sha256=args.sha256,
            accept_license=args.accept_license,
            cancel=cancel,
            on_progress=on_progress,
        )
    except KeyboardInterrupt:
        sys.stderr.write("\n[paused: run the same command again to resume]\n")
        return 130
    except PurposeError as exc:
        if on_progress is not None and sys.stderr.isatty():
            sys.stderr.write("\n")
        return _fail(exc, args.json)
    if args.json:
        _print_json(result.to_dict())
        return 0
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if result.already_present:
        print(f"Already downloaded: {result.path} ({result.verified_text}).")
    else:
        rate = result.bytes_fetched / result.seconds / 1e6 if result.seconds else 0
        resumed = f", resumed at {result.resumed_from:,} bytes" if result.resumed_from else ""
        print(f"Saved {result.path} ({result.size:,} bytes, {rate:.1f} MB/s{resumed}).")
        print(f"Checked: {result.verified_text}; GGUF header valid.")
    print("Use it: purpose-desktop chat --model " + _model_id_for(result.path) + ' "…"')
    return 0


def cmd_discard(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.models import download as dl

    try:
        found = dl.discard_partial(args.source)
    except PurposeError as exc:
        return _fail(exc, args.json)
    if args.json:
        _print_json({"discarded": found})
    else:
        print("Partial download deleted." if found else "There was no partial download of that model.")
    return 0


def _model_id_for(path: str) -> str:
    from pathlib import Path

    return "downloaded:" + Path(path).stem


def add_models_subcommands(models_sub) -> None:
    """Hang ``catalog``, ``pull`` and ``discard`` under the existing ``models`` parser."""
    cat = models_sub.add_parser("catalog", help="curated coding models, with a fit verdict for this computer")
    cat.add_argument("--json", action="store_true")
    cat.set_defaults(func=cmd_catalog)

    pull = models_sub.add_parser(
        "pull",
        help="download a model (catalog id, hf:OWNER/REPO/FILE.gguf[@REV], or https:// URL); resumes",
        description="Download a GGUF model into the data folder's models directory. Interrupted downloads "
        "resume. The sha256 is checked (catalog pin, --sha256, or the hub's published hash) and the GGUF "
        "header validated before the file is put in place. HF_ENDPOINT selects a hub mirror; proxy "
        "settings come from the environment.",
    )
    pull.add_argument("source", metavar="SOURCE")
    pull.add_argument("--sha256", metavar="HEX", help="expected sha256 of the file")
    pull.add_argument(
        "--accept-license", action="store_true", help="accept a license that needs it (Llama, Gemma…)"
    )
    pull.add_argument("--json", action="store_true", help="print one JSON object (no progress)")
    pull.set_defaults(func=cmd_pull)

    discard = models_sub.add_parser("discard", help="delete a paused (partial) download")
    discard.add_argument("source", metavar="SOURCE")
    discard.add_argument("--json", action="store_true")
    discard.set_defaults(func=cmd_discard)


# -- quickstart -----------------------------------------------------------------------------------
class _Wizard:
    """Reads answers line by line (a terminal or piped stdin) and writes questions to ``out``."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp, self.out = inp, out

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def ask(self, question: str, default: str = "") -> str:
        self.out.write(question + (f" [{default}]" if default else "") + ": ")
        self.out.flush()
        line = self.inp.readline()
        if not self.inp.isatty():  # piped answers are echoed so the transcript reads as a dialogue
            self.out.write(line.rstrip("\n") + "\n")
        if not line:  # end of input: take the default, never hang
            return default
        return line.strip() or default

    def yes(self, question: str, default: bool = False) -> bool:
        answer = self.ask(question + (" (Y/n)" if default else " (y/N)"))
        return default if not answer else answer.lower() in ("y", "yes")


def cmd_quickstart(args: argparse.Namespace) -> int:
    w = _Wizard(sys.stdin, sys.stdout)
    try:
        return _quickstart(w, args)
    except KeyboardInterrupt:
        w.say("\nStopped. Run `purpose-desktop quickstart` again any time.")
        return 130


def _quickstart(w: _Wizard, args: argparse.Namespace) -> int:
    from purpose_desktop.engine.models.fit import human_bytes

    w.say("Purpose Desktop — an offline, private coding helper: a team of local agents whose work is")
    w.say("checked by tests, and lessons you approve. Nothing leaves this computer unless you ask.")
    w.say(BUNDLED_LIMITS)
    w.say()
    rows, best, total, available = _catalog_rows()
    w.say(f"Models for this computer ({human_bytes(total)} RAM, {human_bytes(available)} free):")
    w.say("   0. bundled SmolLM2-135M (already here, offline)")
    for i, r in enumerate(rows, 1):
        size = ("≈" if r["size_estimated"] else "") + human_bytes(r["download_size"])
        mark = " ★ recommended" if r["recommended"] else ""
        have = " (downloaded)" if r["downloaded"] else ""
        w.say(f"  {i:>2}. {r['name']:<28} {size:>9}  {r['fit']:<8}{have}{mark}")
    default = str(next((i for i, r in enumerate(rows, 1) if r["recommended"]), 0))
    choice = w.ask("Pick a model by number (0 = stay offline with the bundled one)", default)
    model_spec: str | None = None
    if choice not in ("0", ""):
        if not choice.isdigit() or not 1 <= int(choice) <= len(rows):
            w.say(f"'{choice}' is not on the list; using the bundled model.")
        else:
            model_spec = _get_model(w, rows[int(choice) - 1])
    if model_spec is None:
        w.say("Using the bundled model.")
    w.say()
    return _team_and_task(w, model_spec, args)


def _get_model(w: _Wizard, row: dict) -> str | None:
    from purpose_desktop.engine.models import download as dl
    from purpose_desktop.engine.models.fit import human_bytes

    folder = dl.models_dir()
    if row["downloaded"]:
        return str(folder / row["file"])
    src = dl.resolve_source(row["id"])
    size = ("about " if row["size_estimated"] else "") + human_bytes(row["download_size"])
    if row["fit"] == "too_big":
        w.say(f"Warning: {row['fit_why']}")
    if not w.yes(f"Download {row['name']} ({size}) from {src.url.split('/')[2]}?"):
        return None
    accept = False
    if row["license_accept_required"]:
        w.say(f"{row['name']} is under the {row['license']} license: {row['license_url']}")
        accept = w.yes("Do you accept its terms?")
        if not accept:
            w.say("Not accepted; nothing was downloaded.")
            return None
    try:
        result = dl.pull(src, accept_license=accept, on_progress=_progress_printer(w.out))
    except KeyboardInterrupt:
        w.say("\n[paused: pick it again to resume]")
        return None
    except PurposeError as exc:
        w.say(f"\nDownload failed: {exc.message}")
        if exc.hint:
            w.say(f"hint: {exc.hint}")
        return None
    w.say(f"\nSaved {result.path} ({result.verified_text}).")
    if w.yes("Make it the default model for chat?", default=True):
        from purpose_desktop.engine.settings import load_settings, save_settings

        save_settings(load_settings().with_changes(model=result.path))
    return result.path


def _team_and_task(w: _Wizard, model_spec: str | None, args: argparse.Namespace) -> int:
    from purpose_desktop.engine.agents.team import purpose
    from purpose_desktop.engine.store import Store

    text = w.ask("What should the team help you with?", DEFAULT_PURPOSE)
    store = Store()
    try:
        try:
            team = purpose(text, model=model_spec, store=store)
        except (PurposeError, ValueError) as exc:
            w.say(f"Could not propose a team: {getattr(exc, 'message', exc)}")
            return 1
        w.say("Proposed team: " + " → ".join(r.title for r in team.spec.roles))
        if args.step_tokens:
            team.spark_options["max_tokens_per_step"] = args.step_tokens
        task = w.ask("A task to run now (empty to finish)")
        if not task:
            w.say("Done. Open the app with `purpose-desktop`, or run a task with `purpose-desktop run`.")
            return 0
        w.say("Running… (each step is scored by the critic)")
        result = team.run(task, mode="train")
    except PurposeError as exc:
        w.say(f"The run failed: {exc.message}")
        if exc.hint:
            w.say(f"hint: {exc.hint}")
        return 1
    finally:
        store.close()
    w.say()
    w.say(result.answer)
    score = "–" if result.score is None else f"{result.score:.1f}/10"
    w.say(f"[run {result.run_id[:8]} · {result.status} · score {score} ({result.grounding})]")
    return 0 if result.status == "complete" else 1


def register(sub) -> None:
    """Add ``quickstart`` to the top-level subcommands."""
    qs = sub.add_parser(
        "quickstart",
        help="terminal wizard: pick or download a model, propose a team for a purpose, run a task",
    )
    qs.add_argument(
        "--step-tokens",
        type=int,
        default=None,
        metavar="N",
        help="cap each team step at N tokens (a quick first run)",
    )
    qs.set_defaults(func=cmd_quickstart, json=False)
