"""The tester's checks written as assert lines under a grammar, kept where the answers agree."""

from __future__ import annotations

import itertools

import pytest

from purpose_desktop.engine.agents.checkwriter import (
    agree,
    grammar,
    parse,
    request,
    supports_grammar,
    write_checks,
)
from purpose_desktop.engine.agents.roles import role_template
from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.models import Reply
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedJsonModel, final

NO_EXAMPLE = "Write a function add(a, b) that returns the sum of a and b."
GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers."
BAD = "```python\ndef add(a, b):\n    return a - b\n```\nAdds two numbers."


def _reply(text: str, finish: str = "stop") -> Reply:
    return Reply(text, finish, len(text.split()), 1.0, 100.0, 10.0, 0, "grammar fake")


class GrammarModel:
    """Answers ``complete_grammar`` with scripted texts in turn and records what it was asked."""

    display_name = "grammar fake"
    n_ctx = 4096

    def __init__(self, texts):
        self.texts = itertools.cycle(texts)
        self.asked = []

    def complete_grammar(self, messages, grammar, *, settings=None, cancel=None):
        self.asked.append((messages, grammar, settings))
        return _reply(next(self.texts))

    def chat(self, messages, *, settings=None, cancel=None, on_token=None):
        raise AssertionError("checks are written under the grammar, not as free text")

    def complete_json(self, messages, schema, *, settings=None, cancel=None):
        raise AssertionError("no tool decision when writing checks")

    def close(self):
        pass


class ScriptedGrammarModel(ScriptedJsonModel):
    """The scripted team model, plus a tester that writes assert lines under a grammar."""

    def __init__(self, scripts, lines, **kw):
        super().__init__(scripts, **kw)
        self.lines = itertools.cycle(lines)
        self.grammar_calls = []

    def complete_grammar(self, messages, grammar, *, settings=None, cancel=None):
        self.grammar_calls.append((self.speaker(messages), messages, grammar))
        return _reply(next(self.lines))


def test_parse_keeps_only_checks_of_the_asked_function_on_literal_inputs():
    text = (
        "```python\n"
        "assert add(2, 3) == 5\n"
        "assert add(2, 3) == 5\n"  # a repeat counts once
        "assert add(text, 1) == 2\n"  # a name the check never defines
        "assert sub(1, 1) == 0\n"  # another function
        "assert add(1, 1) != 3\n"  # not an equality
        "assert add(1, == 2\n"  # does not parse
        "assert add(len('ab'), 1) == 3\n"  # builtins are fine
        "```"
    )
    assert parse("add", text) == [("add(2, 3)", "5"), ("add(len('ab'), 1)", "3")]


def test_agree_keeps_the_majority_value_and_leaves_out_a_tie():
    answers = [
        [("f(1)", "1"), ("f(2)", "4"), ("f(3)", "9")],
        [("f(1)", "1"), ("f(2)", "5"), ("f(3)", "9")],
        [("f(1)", "2"), ("f(3)", "9"), ("f(4)", "16")],
    ]
    kept, calls, split = agree(answers)
    # f(3): 3 votes, f(1): 2 of 3, f(4): its only answer; f(2) split 1–1, which no solution could pass
    assert kept == [("f(3)", "9", 3), ("f(1)", "1", 2), ("f(4)", "16", 1)]
    assert (calls, split) == (4, 1)
    assert len(agree(answers, limit=2)[0]) == 2


def test_the_grammar_is_one_llama_cpp_accepts():
    from llama_cpp import LlamaGrammar

    text = grammar("is_prime")
    assert 'assert is_prime(' in text and text.count("line") == 5  # four lines and the rule itself
    LlamaGrammar.from_string(text, verbose=False)  # raises on a malformed grammar


def test_write_checks_asks_greedy_first_then_samples_and_agrees():
    model = GrammarModel(
        [
            "```python\nassert add(2, 3) == 5\nassert add(0, 0) == 1\n```",
            "```python\nassert add(2, 3) == 5\nassert add(0, 0) == 0\n```",
            "```python\nassert add(2, 3) == 6\nassert add(1, 1) == 2\n```",
        ]
    )
    messages = [{"role": "system", "content": "You are the Tester."}, {"role": "user", "content": f"Task: {NO_EXAMPLE}"}]
    written = write_checks(model, messages, "add", samples=3, seed=5)
    assert written.asserts == ["assert add(2, 3) == 5", "assert add(1, 1) == 2"]
    assert written.votes == [2, 1] and (written.calls, written.dropped_split) == (3, 1)
    temps = [s.temperature for _, _, s in model.asked]
    seeds = [s.seed for _, _, s in model.asked]
    assert temps[0] == 0.0 and all(t > 0 for t in temps[1:]) and len(set(seeds)) == 3
    asked = model.asked[0][0]
    # the request follows the task; the messages given are not changed
    assert asked[-1]["content"].endswith(request("add")) and messages[-1]["content"] == f"Task: {NO_EXAMPLE}"
    text = written.answer_text()
    assert text.startswith("```python\nassert add(2, 3) == 5\n") and "without seeing the solution" in text
    assert "1 left out because the answers disagreed" in text


def test_write_checks_stops_when_cancelled():
    cancel = CancelToken()
    cancel.set()
    written = write_checks(GrammarModel(["assert add(1, 1) == 2"]), [{"role": "user", "content": "x"}], "add", cancel=cancel)
    assert written.cancelled and written.asserts == [] and written.answers == 0
    assert written.answer_text().startswith("No check was agreed on")


def test_spark_writes_checks_under_the_grammar_without_a_tool_loop():
    model = GrammarModel(["```python\nassert add(2, 3) == 5\n```"])
    assert supports_grammar(model) and not supports_grammar(ScriptedJsonModel({}))
    spark = Spark(role_template("tester"), model=model)
    res = spark.run(NO_EXAMPLE, context="The plan: add a and b.", checks_for="add")
    assert res.status == "complete" and res.answer.startswith("```python\nassert add(2, 3) == 5\n```")
    messages = model.asked[0][0]
    assert messages[0]["content"].startswith("You are the Tester.") and "The plan: add a and b." in messages[-1]["content"]
    assert res.raw_steps[0]["samples"] and res.tokens > 0


def test_a_team_tester_with_a_grammar_model_grounds_the_coder_on_its_checks(tmp_path):
    model = ScriptedGrammarModel(
        {"Architect": [final("Return a + b.")], "Coder": [final(BAD), final(GOOD)], "Tester": [final("unused")]},
        ["```python\nassert add(2, 3) == 5\nassert add(-1, 1) == 0\n```"],
    )
    team = purpose("Help me write Python code", model=model, store=Store(tmp_path / "t.db"))
    team.spec.max_retries = 2
    team.spec.tester_assert_lines = True
    result = team.run(NO_EXAMPLE, mode=RunMode.EVAL_TEST)
    assert model.grammar_calls and all(who == "Tester" for who, _, _ in model.grammar_calls)
    # written before any solution was in its prompt
    assert all("return a - b" not in m["content"] for _, msgs, _ in model.grammar_calls for m in msgs)
    assert result.selection["checks"]["tester"] == 2
    tester = next(s for s in result.steps if s.role == "tester")
    assert tester.output.startswith("```python\nassert add(2, 3) == 5")
    assert result.grounded_by == "tester_checks" and "a + b" in result.answer
    first = next(s for s in result.steps if s.role == "coder")
    assert first.grounded_by == "tester_checks" and first.score < 3.5  # a - b fails the tester's checks


def test_by_default_the_tester_answers_in_free_form(tmp_path):
    model = ScriptedGrammarModel(
        {"Architect": [final("Return a + b.")], "Coder": [final(GOOD)], "Tester": [final("```python\nassert add(1, 1) == 2\n```")]},
        ["```python\nassert add(2, 3) == 5\n```"],
    )
    team = purpose("Help me write Python code", model=model, store=Store(tmp_path / "t.db"))
    assert team.spec.tester_assert_lines is False
    result = team.run(NO_EXAMPLE, mode=RunMode.EVAL_TEST)
    assert model.grammar_calls == [] and result.selection["checks"]["tester"] == 1


def test_the_switch_is_saved_with_the_team():
    from purpose_desktop.engine.agents.team import TeamSpec

    spec = purpose("Help me write Python code", model=ScriptedJsonModel({})).spec
    spec.tester_assert_lines = True
    assert TeamSpec.from_json(spec.to_json()).tester_assert_lines is True
    assert TeamSpec.from_dict({**spec.to_dict(), "tester_assert_lines": None}).tester_assert_lines is False


@pytest.mark.model
def test_the_bundled_model_writes_checks_of_the_asked_function(default_model_path):
    from purpose_desktop.engine.models import LocalModel

    model = LocalModel(default_model_path, n_ctx=2048)
    try:
        reply = model.complete_grammar([{"role": "user", "content": "Test add."}], grammar("add", 2))
        lines = reply.text.split("\n")
        assert lines[0] == "```python" and lines[-1] == "```" and all(x.startswith("assert add(") for x in lines[1:-1])
        tester = role_template("tester")
        messages = [
            {"role": "system", "content": f"You are the {tester.title}. {tester.instructions}"},
            {"role": "user", "content": f"Task: {NO_EXAMPLE}"},
        ]
        written = write_checks(model, messages, "add", samples=2)
        assert written.answers == 2 and written.asserts
        assert all(parse("add", a) for a in written.asserts)  # each one a usable check of add
    finally:
        model.close()
