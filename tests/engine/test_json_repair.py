"""Length-cut grammar-constrained JSON is closed, not thrown away."""

import json

import pytest

from purpose_desktop.engine.models.local import close_truncated_json


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        ('{"thought": "ab', {"thought": "ab"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": "b",', {"a": "b"}),
        ('{"a": "b", "c"', {"a": "b", "c": ""}),
        ('{"a":', {"a": ""}),
        ('{"a": "q\\"r', {"a": 'q"r'}),
        ('{"a": {"b": "c', {"a": {"b": "c"}}),
        ('{"a": "x}]"', {"a": "x}]"}),
    ],
)
def test_truncated_json_is_closed(cut, expected):
    assert json.loads(close_truncated_json(cut)) == expected


def test_complete_json_is_unchanged():
    text = '{"a": [1, {"b": "c"}], "d": "e"}'
    assert close_truncated_json(text) == text


@pytest.mark.parametrize("finish", ["stop", "length"])
def test_control_characters_inside_strings_are_accepted(finish):
    """The grammar lets a raw newline or tab into a JSON string; decoding must not throw the answer away."""
    from purpose_desktop.engine.models.local import LocalModel, Reply

    raw = '{"thought": "line one\nline two\tend", "action": "final_answer"}'
    text = raw if finish == "stop" else raw[:-1]
    model = LocalModel.__new__(LocalModel)
    model._generate = lambda *a, **k: Reply(text, finish, 10, 1.0, 10.0, 1.0, 0, "m")
    value = model.complete_json([{"role": "user", "content": "x"}], {"type": "object"})
    assert value["thought"] == "line one\nline two\tend"
