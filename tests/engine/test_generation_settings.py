"""Generation controls: Settings → Generation, a chat's own overrides stored with it, a team's token budgets,
and per-role models released after a run."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.roles import role_template
from purpose_desktop.engine.agents.team import Team, TeamSpec
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.models import backends
from purpose_desktop.engine.settings import (
    EngineSettings,
    check_chat_overrides,
    load_settings,
    save_settings,
)
from purpose_desktop.engine.store import Store
from tests.engine.services_helpers import make_engine
from tests.engine.test_memory_team import CHECKS, GOOD, PLAN
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, ScriptedModel, demo_embed, final


def test_generation_settings_are_validated_and_saved(tmp_path):
    s = EngineSettings(top_p=0.8, seed=42, thinking=False, temperature=0.2, max_tokens=64, n_ctx=2048)
    path = save_settings(s, tmp_path / "settings.json")
    assert load_settings(path) == s
    for bad in ({"top_p": 0.0}, {"top_p": 1.5}, {"seed": -1}, {"seed": 1.5}, {"thinking": "yes"}):
        with pytest.raises(InputError):
            EngineSettings(**bad)
    assert EngineSettings().seed is None and EngineSettings().top_p == 0.95 and EngineSettings().thinking


def test_chat_overrides_refuse_unknown_fields_and_bad_values():
    assert check_chat_overrides({"temperature": 1, "seed": 7}) == {"temperature": 1.0, "seed": 7}
    with pytest.raises(InputError, match="context length"):
        check_chat_overrides({"n_ctx": 1024})
    with pytest.raises(InputError, match="temperature"):
        check_chat_overrides({"temperature": 5})


def test_a_chat_answers_with_its_own_settings_and_others_with_the_apps(tmp_path):
    model = ScriptedModel(replies=["One.", "Two.", "Three."])
    engine = make_engine(tmp_path, model, temperature=0.7, max_tokens=300, top_p=0.9)
    engine.load_model()
    own = engine.store.create_conversation()
    other = engine.store.create_conversation()
    report = engine.set_chat_settings(
        own.id, {"temperature": 0.1, "top_p": 0.5, "max_tokens": 20, "seed": 3, "system_prompt": "Be terse.", "thinking": False}
    )
    assert report["overrides"]["seed"] == 3 and report["effective"]["top_p"] == 0.5
    assert report["defaults"]["temperature"] == 0.7
    engine.send_message(own.id, "hi")
    engine.send_message(other.id, "hi")
    mine, theirs = model.settings_seen
    assert (mine.temperature, mine.top_p, mine.max_tokens, mine.seed, mine.thinking) == (0.1, 0.5, 20, 3, False)
    assert (theirs.temperature, theirs.top_p, theirs.max_tokens, theirs.seed) == (0.7, 0.9, 300, None)
    assert model.calls[0][0]["content"].startswith("Be terse.")
    assert not model.calls[1][0]["content"].startswith("Be terse.")
    engine.close()
    # Stored with the conversation in the SQLite file: a new Store sees them.
    store = Store(tmp_path / "services.db")
    assert store.get_conversation(own.id).settings["system_prompt"] == "Be terse."
    assert store.get_conversation(other.id).settings == {}
    store.close()


def test_clearing_a_chats_settings_goes_back_to_the_apps(tmp_path):
    engine = make_engine(tmp_path)
    conv = engine.store.create_conversation()
    engine.set_chat_settings(conv.id, {"seed": 9})
    assert engine.set_chat_settings(conv.id, {})["overrides"] == {}
    with pytest.raises(InputError):
        engine.set_chat_settings(conv.id, {"top_p": 2})
    assert engine.chat_settings(conv.id)["overrides"] == {}  # a refused change loses nothing, writes nothing
    engine.close()


def test_real_model_honours_a_chats_max_tokens_and_seed(tmp_path, default_model_path):
    engine = Engine(store=Store(tmp_path / "real.db"), settings=EngineSettings(max_tokens=200))
    engine.load_model(default_model_path)
    conv = engine.store.create_conversation()
    engine.set_chat_settings(conv.id, {"max_tokens": 6, "temperature": 1.2, "seed": 1234})
    _u, first = engine.send_message(conv.id, "Tell me a story about a robot.")
    assert first.meta["n_tokens"] <= 6 and first.meta["finish_reason"] == "length"
    assert engine.model._llm._seed == 1234  # llama.cpp sampled this reply with the chat's seed
    engine.close()


def test_team_token_budgets_are_stored_with_the_spec_and_used_by_its_steps(tmp_path):
    old = {"name": "Old", "purpose": "p", "roles": [role_template("coder").to_dict()]}
    assert TeamSpec.from_dict(old).max_tokens_per_step == 384  # the old hard-coded value stays the default
    spec = TeamSpec.from_dict({**old, "max_tokens_per_step": 96, "token_budget": 500})
    again = TeamSpec.from_dict(spec.to_dict())
    assert (again.max_tokens_per_step, again.token_budget) == (96, 500)
    spark = Team(again, model=ScriptedModel()).spark(again.roles[0])
    assert (spark.max_tokens_per_step, spark.token_budget) == (96, 500)
    with pytest.raises(ValueError, match="max_tokens_per_step"):
        TeamSpec.from_dict({**old, "max_tokens_per_step": 5})
    engine = make_engine(tmp_path)
    with pytest.raises(InputError, match="token_budget"):
        engine.teams.save({**old, "token_budget": 10**9})
    saved = engine.teams.save(spec.to_dict())
    assert engine.teams.load(saved["id"])["max_tokens_per_step"] == 96
    engine.close()


class _RoleModel(ScriptedJsonModel):
    instances: list = []

    def __init__(self, path=None, **_kw):
        super().__init__({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final(CHECKS)]})
        _RoleModel.instances.append(self)

    def close(self):
        self.closed = True


def test_per_role_models_are_released_when_the_run_ends(tmp_path, default_model_path, monkeypatch):
    import purpose_desktop.engine.models as models_pkg

    monkeypatch.setattr(models_pkg, "LocalModel", _RoleModel)  # what resolve_backend loads for a role
    _RoleModel.instances = []
    engine = make_engine(tmp_path)
    engine.model = ScriptedJsonModel({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final(CHECKS)]})
    spec = engine.teams.propose("Help me write Python code")
    for role in spec["roles"]:
        if role["name"] == "coder":
            role["model"] = str(default_model_path)
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        engine.teams.run(spec, "Write add(a, b)", mode="eval")
    assert len(_RoleModel.instances) == 1, "the coder's own model was used"
    assert _RoleModel.instances[0].closed, "and released when the run ended"
    assert backends.thread_models() == []
    assert not getattr(engine.model, "closed", False)  # the chat model stays loaded
    engine.close()


def test_release_frees_a_real_loaded_role_model(default_model_path):
    model = backends.resolve_backend(str(default_model_path))
    assert backends.thread_models() == [model] and not model.closed
    assert backends.release_thread_models() == 1
    assert model.closed and backends.thread_models() == []
