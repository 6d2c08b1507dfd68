"""CalculatorTool (AST-checked arithmetic) and the Tool / ToolRegistry contract it is called through."""

from __future__ import annotations

import math
import sys
import time

import pytest

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools import CalculatorTool, Tool, ToolError, ToolRegistry, ToolResult, calculate
from purpose_desktop.engine.tools.base import validate_args


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 // 2", "3"),
        ("7 % 3", "1"),
        ("-7 / 2", "-3.5"),
        ("2 ** 10", "1024"),
        ("2 ** -1", "0.5"),
        ("-(3)", "-3"),
        ("+4", "4"),
        ("sqrt(16)", "4"),
        ("abs(-2.5)", "2.5"),
        ("round(pi, 3)", "3.142"),
        ("min(3, 1, 2) + max(4, 5)", "6"),
        ("log(e)", "1"),
        ("log(8, 2)", "3"),
        ("factorial(20)", "2432902008176640000"),
        ("0.1 + 0.2", "0.30000000000000004"),
        ("2 ** 100", str(2**100)),
        ("1_000 * 3", "3000"),
    ],
)
def test_good_expressions(expression, expected):
    res = CalculatorTool().run({"expression": expression})
    assert res.ok, res.error
    assert res.output == expected
    assert res.data["result"] == expected and res.error is None


def test_sin_is_close():
    assert math.isclose(calculate("sin(pi / 6)"), 0.5)


def test_big_exact_integers_past_the_str_guard():
    res = CalculatorTool().run({"expression": "7 ** 6000"})  # 5071 digits: past Python's str(int) guard
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert res.ok and res.output == str(7**6000)
    finally:
        sys.set_int_max_str_digits(old)


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("__import__('os')", "not available"),
        ("__import__('os').system('true')", "not available"),
        ("().__class__", "not allowed"),
        ("open('/etc/passwd')", "not available"),
        ("x + 1", "unknown name"),
        ("[1, 2]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("1j * 2", "only numbers"),
        ("2 ^ 3", "use ** for powers"),
        ("1 if 1 else 2", "not allowed"),
        ("sqrt(-1)", "math domain error"),
        ("log(0)", "math domain error"),
        ("exp(10000)", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("sqrt(x=4)", "positional"),
        ("sqrt(1, 2)", "takes 1 argument"),
        ("factorial(100000)", "too large"),
        ("1 +", "not a valid expression"),
        ("", "empty"),
        ("10.0 ** 400", "too large"),
    ],
)
def test_bad_expressions_fail_with_a_human_error(expression, needle):
    res = CalculatorTool().run({"expression": expression})
    assert not res.ok
    assert needle in res.output, res.output


@pytest.mark.parametrize(
    "expression",
    [
        "9**9**9",
        "2 ** 100000",
        "10 ** 10000",
        "(10**5000) * (10**5000) * 10",
        "lcm(" + ", ".join(f"2**33000-{k}" for k in range(1, 60, 2)) + ")",
        "factorial(3000) * factorial(3000)",
        "pow(7, 10**6)",
    ],
)
def test_huge_powers_are_refused_fast(expression):
    started = time.monotonic()
    res = CalculatorTool().run({"expression": expression})
    assert not res.ok and "digits" in res.error
    assert time.monotonic() - started < 0.5


def test_shape_limits():
    too_long = "1+" * 600 + "1"
    assert "longer than" in CalculatorTool().run({"expression": too_long}).error
    deep = "-" * 60 + "1"
    assert "nested too deeply" in CalculatorTool().run({"expression": deep}).error
    many = "+".join(["1"] * 200)  # 1+1+… nests to the left, so depth grows with length
    assert "nested too deeply" in CalculatorTool().run({"expression": many}).error
    wide = (
        "max("
        + ",".join(["1"] * 99)
        + ")+max("
        + ",".join(["1"] * 99)
        + ")+max("
        + ",".join(["1"] * 99)
        + ")"
    )
    assert "too long" in CalculatorTool().run({"expression": wide}).error
    nested_parens = "(" * 300 + "1" + ")" * 300
    assert not CalculatorTool().run({"expression": nested_parens}).ok


def test_calculate_raises_tool_error():
    with pytest.raises(ToolError):
        calculate("1/0")


# ----------------------------------------------------------------------------- Tool / ToolRegistry


class Boom(Tool):
    name = "boom"
    description = "always fails"
    parameters = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    def execute(self, args, cancel):
        raise RuntimeError("kaboom")


def test_registry_calls_and_specs():
    registry = ToolRegistry([CalculatorTool(), Boom()])
    assert registry.names() == ["boom", "calculator"] and "calculator" in registry
    res = registry.call("calculator", {"expression": "6*7"})
    assert isinstance(res, ToolResult) and res.ok and res.output == "42" and res.elapsed_ms >= 0
    spec = CalculatorTool().spec()
    assert spec["name"] == "calculator" and spec["parameters"]["required"] == ["expression"]
    assert "calculator(expression: string)" in registry.prompt_text()
    with pytest.raises(ValueError):
        registry.register(CalculatorTool())


def test_unknown_tool_is_a_result_not_an_exception():
    res = ToolRegistry([CalculatorTool()]).call("rm_rf", {})
    assert not res.ok and "unknown tool 'rm_rf'" in res.error and "calculator" in res.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({}, "missing required argument 'expression'"),
        ({"expression": 5}, "must be string"),
        ({"expression": "1", "extra": 1}, "unknown argument"),
        ({"expression": "1" * 1001}, "longer than 1000"),
        ("1+1", "must be a JSON object"),
        (None, "must be a JSON object"),
    ],
)
def test_argument_validation(args, needle):
    res = ToolRegistry([CalculatorTool()]).call("calculator", args)
    assert not res.ok and needle in res.error


def test_bool_is_not_an_integer_and_tool_bugs_become_results():
    assert validate_args(Boom.parameters, {"n": True}) == ["argument 'n' must be integer, not bool"]
    res = Boom().run({"n": 1})
    assert not res.ok and "RuntimeError: kaboom" in res.error


def test_cancelled_before_start():
    cancel = CancelToken()
    cancel.set()
    res = CalculatorTool().run({"expression": "1+1"}, cancel)
    assert not res.ok and res.data["cancelled"] is True
