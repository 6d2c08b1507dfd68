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
