"""EngineSettings: the engine's user settings (model, context, sampling), kept as JSON in the user dir."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import InputError, StoreError

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Purpose Desktop, a concise, careful coding assistant. "
    "Answer with correct code in fenced Markdown blocks."
)
TEMPERATURE_RANGE = (0.0, 2.0)
TOP_P_RANGE = (0.01, 1.0)
SEED_RANGE = (0, 2**31 - 1)
MAX_TOKENS_RANGE = (1, 8192)
N_CTX_RANGE = (256, 131072)
N_THREADS_RANGE = (1, 1024)
N_GPU_LAYERS_RANGE = (-1, 100_000)  # llama.cpp: -1 = offload every layer
MAX_SYSTEM_PROMPT_CHARS = 32_000
CHAT_VAULT_K_RANGE = (1, 10)
#: A team step's answer budget and a role's whole budget, unless the team sets its own (Team pane).
DEFAULT_STEP_TOKENS = 384
DEFAULT_TOKEN_BUDGET = 1536
STEP_TOKENS_RANGE = (16, 8192)
TOKEN_BUDGET_RANGE = (64, 65536)
#: The self-improvement methods a person can turn off one by one (``learning_methods_off``). What "off"
#: means for each is in ``engine.memory.records.METHOD_OFF``; everything is on by default.
LEARNING_METHODS: tuple[str, ...] = ("value_of_experience", "lesson_evolution", "hindsight", "critic_calibration")
#: Each method's name as the Settings pane shows it, and what turning it off does.
METHOD_LABELS: dict[str, str] = {
    "value_of_experience": "Value of experience: rank lessons by what they did for this kind of task",
    "lesson_evolution": "Lesson evolution: propose merges, splits and retirements of lessons",
    "hindsight": "Hindsight: keep what an earlier attempt achieved when the final one was worse",
    "critic_calibration": "Critic calibration: count the judge less where it disagreed with the tests",
}
METHOD_OFF: dict[str, str] = {
    "value_of_experience": "retrieval ranks lessons by relevance × trust × utility, ignoring what they did "
    "for this kind of task",
    "lesson_evolution": "no merge, split or retirement is proposed (approved ones stay as they are)",
    "hindsight": "no hindsight case is proposed, and the approved ones are set aside (kept, not used)",
    "critic_calibration": "no calibration is proposed, and the critic counts the judge fully, ignoring "
    "approved calibrations",
}


@dataclass(frozen=True)
class EngineSettings:
    """Validated on construction: a bad value raises InputError naming the field and its range."""

    model: str | None = None  # None: the bundled default model; else a path or a model id
    added_models: tuple[str, ...] = ()  # GGUF paths the person added from a file dialog
    n_ctx: int | None = None  # None: let the model loader choose
    n_threads: int | None = None
    n_gpu_layers: int | None = None
    temperature: float = 0.7
    max_tokens: int = 512
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    top_p: float = 0.95
    seed: int | None = None  # None: a new random seed per reply; a number makes replies repeatable
    thinking: bool = True  # reasoning models (Qwen3) may think before answering, where they can be told not to
    default_team: str | None = None  # name of the saved team the Team pane opens with
    auto_promote: bool = False  # promote memories whose replay evidence clearly helps, without asking
    allow_unprotected_code: bool = False  # the person's approval to run code where the sandbox is weak
    chat_uses_memory: bool = True  # chat answers see the lessons the person approved
    chat_uses_vault: bool = True  # chat answers see (and cite) the best Vault excerpts
    chat_vault_k: int = 3  # how many Vault excerpts a chat answer may use at most
    # MCP servers whose tools roles may use: {"name", "command"+"args" | "url", "tools": [listed tools]}.
    mcp_servers: tuple[dict, ...] = ()
    mcp_always_allow: tuple[str, ...] = ()  # "server/tool" calls the person let run without asking
    first_run_done: bool = False  # the first-run guide was answered (never shown again)
    recent_projects: tuple[str, ...] = ()  # project folders opened lately, newest first
    # OpenAI-compatible servers the person added ({"name", "base_url", "api_key", "allowed"}); "allowed"
    # is the person's confirmation that text may go to a host that is not this computer.
    servers: tuple[dict, ...] = ()
    serve_port: int = 8765  # the app's own OpenAI-compatible server (Settings → Server), off by default
    serve_api_key: str | None = None
    serve_grounding: bool = True  # serve answers with approved lessons and Vault excerpts
    learning_methods_off: tuple[str, ...] = ()  # self-improvement methods turned off (names in LEARNING_METHODS)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = _VALIDATORS[f.name](getattr(self, f.name))
            # Normalised values (int temperature → float, list → tuple) keep equality and hashing sane.
            object.__setattr__(self, f.name, value)

    def with_changes(self, **changes: Any) -> EngineSettings:
        """A copy with ``changes`` applied and validated (InputError on an unknown field or bad value)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise InputError(
                f"Unknown setting: {', '.join(unknown)}.", f"Known settings: {', '.join(FIELD_NAMES)}."
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (tuples become lists)."""
        data = dataclasses.asdict(self)
        data["added_models"] = list(self.added_models)
        data["mcp_servers"] = [dict(server) for server in self.mcp_servers]
        data["mcp_always_allow"] = list(self.mcp_always_allow)
        data["recent_projects"] = list(self.recent_projects)
        data["servers"] = [dict(s) for s in self.servers]
        data["learning_methods_off"] = list(self.learning_methods_off)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineSettings:
        """Lenient: unknown keys are ignored and a bad field falls back to its default (logged)."""
        defaults = cls()
        kept: dict[str, Any] = {}
        for name, value in data.items():
            if name not in FIELD_NAMES:
                log.debug("settings: ignoring unknown key %r", name)
                continue
            try:
                kept[name] = _VALIDATORS[name](value)
            except InputError as exc:
                log.warning("settings: %s; using the default %r", exc.message, getattr(defaults, name))
        return cls(**kept)


def _bad(name: str, value: Any, expected: str) -> InputError:
    return InputError(
        f"Setting {name} = {value!r} is not valid: it must be {expected}.", f"Set {name} to {expected}."
    )


def _int_in(name: str, bounds: tuple[int, int], optional: bool):
    lo, hi = bounds

    def check(value: Any) -> int | None:
        expected = f"a whole number from {lo} to {hi}" + (" (or empty for automatic)" if optional else "")
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _bad(name, value, expected)
        return value

    return check


def _check_temperature(value: Any) -> float:
    lo, hi = TEMPERATURE_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _bad("temperature", value, f"a number from {lo:g} to {hi:g}")
    return float(value)


def _check_top_p(value: Any) -> float:
    lo, hi = TOP_P_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _bad("top_p", value, f"a number from {lo:g} to {hi:g}")
    return float(value)


def _check_model(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad("model", value, "a model id or a path to a .gguf file (or empty for the bundled model)")
    return value


def _check_added_models(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad("added_models", value, "a list of paths to .gguf files")
    return tuple(dict.fromkeys(value))  # drop duplicates, keep order


def _check_paths(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(name, value, "a list of folder paths")
    return tuple(dict.fromkeys(value))


def _check_system_prompt(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_SYSTEM_PROMPT_CHARS:
        shown = f"<{len(value):,} characters>" if isinstance(value, str) else value
        raise _bad("system_prompt", shown, f"text of at most {MAX_SYSTEM_PROMPT_CHARS:,} characters")
    return value


def _check_optional_text(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise _bad(name, value, "a name, or nothing")


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(name, value, "true or false")
    return value


MCP_SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def _check_mcp_servers(value: Any) -> tuple[dict, ...]:
    """Each server: a unique ``name``, and a stdio ``command`` (+ ``args``) or a streamable-HTTP ``url``."""
    expected = (
        'a list of {"name", "command" and "args"} or {"name", "url"} objects (names of letters, digits, '
        '".", "_" or "-")'
    )
    if not isinstance(value, list | tuple):
        raise _bad("mcp_servers", value, expected)
    out: list[dict] = []
    names: set[str] = set()
    for server in value:
        if not isinstance(server, dict) or not MCP_SERVER_NAME.match(str(server.get("name", ""))):
            raise _bad("mcp_servers", value, expected)
        command, url, args = server.get("command"), server.get("url"), server.get("args", [])
        has_command = isinstance(command, str) and bool(command.strip())
        has_url = isinstance(url, str) and url.startswith(("http://", "https://"))
        if has_command == has_url or server["name"] in names:
            raise _bad("mcp_servers", value, expected)
        if not isinstance(args, list | tuple) or not all(isinstance(a, str) for a in args):
            raise _bad("mcp_servers", value, expected)
        tools = server.get("tools", [])
        if not isinstance(tools, list | tuple) or not all(isinstance(t, dict) and t.get("name") for t in tools):
            raise _bad("mcp_servers", value, expected)
        names.add(server["name"])
        out.append({**server, "args": list(args), "tools": [dict(t) for t in tools]})
    return tuple(out)


def _check_always_allow(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and "/" in v for v in value):
        raise _bad("mcp_always_allow", value, 'a list of "server/tool" names')
    return tuple(dict.fromkeys(value))
def _check_servers(value: Any) -> tuple[dict, ...]:
    expected = 'a list of {"name", "base_url", "api_key", "allowed"} objects'
    if not isinstance(value, list | tuple):
        raise _bad("servers", value, expected)
    out: list[dict] = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not item["name"].strip()
            or not isinstance(item.get("base_url"), str)
            or not item["base_url"].strip()
            or not isinstance(item.get("api_key"), str | type(None))
            or not isinstance(item.get("allowed", False), bool)
        ):
            # never echo a server entry back: it may hold a key
            raise _bad("servers", "<a server entry>", expected)
        out.append(
            {
                "name": item["name"].strip(),
                "base_url": item["base_url"].strip(),
                "api_key": item.get("api_key") or None,
                "allowed": bool(item.get("allowed", False)),
            }
        )
    return tuple(out)


def _check_methods_off(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(v in LEARNING_METHODS for v in value):
        raise _bad("learning_methods_off", value, f"a list of names from {', '.join(LEARNING_METHODS)}")
    return tuple(dict.fromkeys(value))


def _check_serve_key(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() and len(value) <= 512):
        return value
    raise _bad("serve_api_key", "<hidden>", "text of 1 to 512 characters, or nothing")


_VALIDATORS = {
    "model": _check_model,
    "added_models": _check_added_models,
    "n_ctx": _int_in("n_ctx", N_CTX_RANGE, optional=True),
    "n_threads": _int_in("n_threads", N_THREADS_RANGE, optional=True),
    "n_gpu_layers": _int_in("n_gpu_layers", N_GPU_LAYERS_RANGE, optional=True),
    "temperature": _check_temperature,
    "max_tokens": _int_in("max_tokens", MAX_TOKENS_RANGE, optional=False),
    "system_prompt": _check_system_prompt,
    "top_p": _check_top_p,
    "seed": _int_in("seed", SEED_RANGE, optional=True),
    "thinking": lambda v: _check_bool("thinking", v),
    "default_team": lambda v: _check_optional_text("default_team", v),
    "auto_promote": lambda v: _check_bool("auto_promote", v),
    "allow_unprotected_code": lambda v: _check_bool("allow_unprotected_code", v),
    "chat_uses_memory": lambda v: _check_bool("chat_uses_memory", v),
    "chat_uses_vault": lambda v: _check_bool("chat_uses_vault", v),
    "chat_vault_k": _int_in("chat_vault_k", CHAT_VAULT_K_RANGE, optional=False),
    "mcp_servers": _check_mcp_servers,
    "mcp_always_allow": _check_always_allow,
    "first_run_done": lambda v: _check_bool("first_run_done", v),
    "recent_projects": lambda v: _check_paths("recent_projects", v),
    "servers": _check_servers,
    "serve_port": _int_in("serve_port", (1, 65535), optional=False),
    "serve_api_key": _check_serve_key,
    "serve_grounding": lambda v: _check_bool("serve_grounding", v),
    "learning_methods_off": _check_methods_off,
}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(EngineSettings))
#: What a chat may set for itself (stored with the conversation); context length is the loaded model's.
CHAT_OVERRIDE_FIELDS: tuple[str, ...] = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "system_prompt",
    "thinking",
)


def check_chat_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` validated (InputError names the field and its range); unknown keys are refused."""
    if not isinstance(overrides, dict):
        raise InputError("A chat's settings must be a set of named values.", "Pick values in the chat's settings.")
    unknown = sorted(set(overrides) - set(CHAT_OVERRIDE_FIELDS))
    if unknown:
        raise InputError(
            f"A chat cannot override: {', '.join(unknown)}.",
            f"A chat can set {', '.join(CHAT_OVERRIDE_FIELDS)}; the context length is set in Settings.",
        )
    return {name: _VALIDATORS[name](value) for name, value in overrides.items()}


def load_settings(path: Path | str | None = None) -> EngineSettings:
    """The saved settings, or defaults; never raises for a missing, unreadable or corrupt file.

    A file that is not a JSON object is kept beside it as ``settings.json.bad`` (so the next save does
    not destroy what the person may want to recover) and defaults are used.
    """
    path = Path(path) if path is not None else paths.settings_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return EngineSettings()
    except (OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            _set_aside(path, f"it is not UTF-8 text ({exc.reason})")
        else:
            log.warning("settings: cannot read %s (%s); using defaults", path, exc)
        return EngineSettings()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        _set_aside(path, f"it is not valid JSON ({exc})")
        return EngineSettings()
    if not isinstance(data, dict):
        _set_aside(path, "it does not hold a JSON object")
        return EngineSettings()
    return EngineSettings.from_dict(data)


def _set_aside(path: Path, why: str) -> None:
    bad = path.with_name(path.name + ".bad")
    try:
        os.replace(path, bad)
    except OSError as exc:
        log.warning(
            "settings: %s is unusable because %s, and could not be renamed (%s); using defaults",
            path,
            why,
            exc,
        )
        return
    log.warning("settings: %s is unusable because %s; kept it as %s and used defaults", path, why, bad)


def save_settings(settings: EngineSettings, path: Path | str | None = None) -> Path:
    """Write atomically (temp file + fsync + os.replace): a crash leaves the old file or the new one."""
    path = Path(path) if path is not None else paths.settings_path()
    text = json.dumps(settings.to_dict(), indent=2, ensure_ascii=False) + "\n"
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file 0600 and os.replace keeps that: the settings may hold server API keys.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise StoreError(
            f"Purpose Desktop could not save its settings ({exc.strerror or exc}).",
            f"Check that {path.parent} is writable and the disk is not full, or set {paths.HOME_ENV} "
            "to a folder you can write to.",
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders, and does not need to."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
