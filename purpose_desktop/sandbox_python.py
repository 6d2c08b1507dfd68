"""A minimal ``python`` for the frozen app's code sandbox: ``PurposeDesktop --sandbox-python [flags] (script | -m module | -c code) [args]``.

A PyInstaller app has no separate interpreter, so the sandbox (engine/tools/sandbox/) starts the app
itself with ``FLAG`` first; the app's first runtime hook (packaging/rthooks) hands over to ``main``
before anything else is imported. Only the standard library is used here: this runs inside the sandbox.
"""

from __future__ import annotations

import builtins
import io
import os
import sys
import traceback
import types

FLAG = "--sandbox-python"
USAGE = f"usage: PurposeDesktop {FLAG} [-BEIPSsu] [-X opt] [-W arg] (-c code | -m module | script) [args]"
# CPython options without a value. They change nothing that matters here (the sandbox already scrubs the
# environment and a frozen app has no site-packages), except -B, -I and -P, which are honoured.
_SWITCHES = set("bBdEhiIOPqsSuvV")


class UsageError(Exception):
    """A command line this minimal interpreter does not understand."""


def parse(argv: list[str]) -> tuple[str, str, list[str], set[str]]:
    """``(kind, target, args, switches)``: kind is "c", "m" or "script"."""
    switches: set[str] = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        j = 1
        while j < len(arg):
            ch = arg[j]
            if ch in "cmXW":
                value = arg[j + 1 :]
                if not value:
                    i += 1
                    if i >= len(argv):
                        raise UsageError(f"Argument expected for the -{ch} option")
                    value = argv[i]
                if ch in "cm":
                    return ch, value, argv[i + 1 :], switches
                break  # -X and -W values are accepted and ignored
            if ch not in _SWITCHES:
                raise UsageError(f"Unknown option: -{ch}")
            switches.add(ch)
            j += 1
        i += 1
    if i >= len(argv):
        raise UsageError("a script, -m module or -c code is required (there is no interactive mode)")
    return "script", argv[i], argv[i + 1 :], switches


def restore_environment() -> None:
    """Give the code exactly the environment the sandbox passed, not what the frozen app's loader added."""
    try:
        with open("/proc/self/environ", "rb") as f:
            initial = f.read()
    except OSError:
        initial = None
    if initial is not None and hasattr(os, "environb"):
        os.environ.clear()
        for item in initial.split(b"\0"):
            key, sep, value = item.partition(b"=")
            if sep and key:
                os.environb[key] = value
    undo_loader_environment()


def undo_loader_environment() -> None:
    """Remove what the frozen app's loader added: its folder in LD_LIBRARY_PATH (saving the person's own
    value in LD_LIBRARY_PATH_ORIG) and its _PYI* variables. The dynamic linker read them at start-up
    already; programs started from here (the sandbox, xdg-open, a browser) must not load the app's libraries.
    """
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    bundle = getattr(sys, "_MEIPASS", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    elif bundle and "LD_LIBRARY_PATH" in os.environ:
        rest = [p for p in os.environ["LD_LIBRARY_PATH"].split(os.pathsep) if p and p != bundle]
        if rest:
            os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(rest)
        else:
            del os.environ["LD_LIBRARY_PATH"]
    for key in list(os.environ):
        if key.startswith(("_PYI", "_MEI")):
            del os.environ[key]


_OWN_FRAMES = {"runpy.py", "<frozen runpy>", "sandbox_python.py"}


def _print_exception(exc: BaseException) -> None:
    """Print a traceback as python would: without this module's and runpy's frames."""
    tb = exc.__traceback__
    while tb is not None and os.path.basename(tb.tb_frame.f_code.co_filename) in _OWN_FRAMES:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _fresh_main(path: str | None) -> types.ModuleType:
    module = types.ModuleType("__main__")
    module.__builtins__ = builtins
    if path is not None:
        module.__file__ = path
    sys.modules["__main__"] = module
    return module


def main(argv: list[str]) -> int:
    """Run what ``argv`` asks for like ``python`` would; returns the exit status (SystemExit passes through)."""
    restore_environment()
    try:
        kind, target, args, switches = parse(argv)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n{USAGE}\n")
        return 2
    if "B" in switches:
        sys.dont_write_bytecode = True
    isolated = bool(switches & {"I", "P"})
    import runpy

    try:
        if kind == "c":
            sys.argv = ["-c", *args]
            if not isolated:
                sys.path.insert(0, "")
            exec(compile(target, "<string>", "exec"), _fresh_main(None).__dict__)
        elif kind == "m":
            sys.argv = [target, *args]  # runpy replaces argv[0] with the module's file
            if not isolated:
                sys.path.insert(0, os.getcwd())
            _fresh_main(None)
            runpy._run_module_as_main(target, alter_argv=True)  # what `python -m` itself calls
        else:
            sys.argv = [target, *args]
            path = os.path.abspath(target)  # python's __file__ is absolute; argv[0] stays as given
            if not isolated:
                sys.path.insert(0, os.path.dirname(path))
            try:
                with io.open_code(path) as f:
                    source = f.read()
            except OSError as exc:
                sys.stderr.write(f"python: can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}\n")
                return 2
            code = compile(source, path, "exec")
            exec(code, _fresh_main(path).__dict__)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # noqa: BLE001 — python prints any uncaught exception and exits 1
        _print_exception(exc)
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
    return 0


if __name__ == "__main__":  # `python -m purpose_desktop.sandbox_python …` behaves the same, for tests
    sys.exit(main(sys.argv[1:]))
