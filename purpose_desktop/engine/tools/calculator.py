"""CalculatorTool: arithmetic on a checked syntax tree — numbers, operators and whitelisted math only."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools.base import Tool, ToolError, ToolResult

MAX_EXPRESSION_CHARS = 1000
MAX_DEPTH = 50
MAX_NODES = 300
MAX_RESULT_DIGITS = 10_000
# Integers are kept below this many bits, so no step can build a number with more than ~10k digits.
_MAX_BITS = int(MAX_RESULT_DIGITS * math.log2(10)) + 1
_LOG2_10 = math.log2(10)

Number = int | float


def _int_digits(n: int) -> int:
    """Decimal digits of ``abs(n)``, estimated from its bit length (exact enough for limits)."""
    return max(1, int(abs(n).bit_length() / _LOG2_10) + 1)


def _check_int(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise ToolError(
            f"result would have more than {MAX_RESULT_DIGITS:,} digits",
            hint="use smaller numbers, or floats (e.g. 2.0**x) for an approximate answer",
        )
    return value


def _pow(base: Number, exp: Number) -> Number:
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1:
        # Refuse before computing: digits(base**exp) = floor(exp * log10(|base|)) + 1.
        if exp > _MAX_BITS or exp * math.log10(abs(base)) >= MAX_RESULT_DIGITS:
            raise ToolError(
                f"result would have more than {MAX_RESULT_DIGITS:,} digits",
                hint="use a smaller exponent, or a float base (e.g. 9.0**x) for an approximate answer",
            )
    result = base**exp
    if isinstance(result, complex):
        raise ToolError("result is not a real number", hint="a negative base needs a whole-number exponent")
    return _check_int(result)


def _mul(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > _MAX_BITS + 1:
        raise ToolError(f"result would have more than {MAX_RESULT_DIGITS:,} digits")
    return _check_int(a * b)


def _bounded_int(name: str, value: Number, limit: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise ToolError(f"{name}() needs a whole number that is not negative")
    if value > limit:
        raise ToolError(f"{name}() argument is too large (limit {limit:,})")
    return value


def _lcm(values: tuple[Number, ...]) -> int:
    result = 1
    for value in values:  # checked step by step so the running value never outgrows the limit
        result = _check_int(math.lcm(result, value))
    return result


def _factorial(n: Number) -> int:
    return math.factorial(_bounded_int("factorial", n, 3000))


def _comb(n: Number, k: Number) -> int:
    return _check_int(math.comb(_bounded_int("comb", n, 30_000), _bounded_int("comb", k, 30_000)))


def _perm(n: Number, k: Number) -> int:
    return _check_int(math.perm(_bounded_int("perm", n, 30_000), _bounded_int("perm", k, 3000)))


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int) or abs(ndigits) > 100:
        raise ToolError("round() takes a whole number of digits between -100 and 100")
    return round(x, ndigits)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


# name → (function, min args, max args). Everything here is cheap for inputs the limits above allow.
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (math.sqrt, 1, 1),
    "isqrt": (math.isqrt, 1, 1),
    "cbrt": (lambda x: math.copysign(abs(x) ** (1 / 3), x), 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (_log, 1, 2),
    "ln": (math.log, 1, 1),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "atan2": (math.atan2, 2, 2),
    "sinh": (math.sinh, 1, 1),
    "cosh": (math.cosh, 1, 1),
    "tanh": (math.tanh, 1, 1),
    "degrees": (math.degrees, 1, 1),
    "radians": (math.radians, 1, 1),
    "hypot": (math.hypot, 1, 32),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "trunc": (math.trunc, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (lambda *a: min(a), 1, 100),
    "max": (lambda *a: max(a), 1, 100),
    "pow": (_pow, 2, 2),
    "gcd": (math.gcd, 1, 100),
    "lcm": (lambda *a: _lcm(a), 1, 100),
    "factorial": (_factorial, 1, 1),
    "comb": (_comb, 2, 2),
    "perm": (_perm, 2, 2),
}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

_BINARY_OPS: dict[type, Callable[[Number, Number], Number]] = {
    ast.Add: lambda a, b: _check_int(a + b),
    ast.Sub: lambda a, b: _check_int(a - b),
    ast.Mult: _mul,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: _pow,
}
_OP_SYMBOLS = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>"}


def _check_shape(tree: ast.Expression) -> None:
    """Depth and size limits, walked without recursion so hostile nesting cannot overflow the stack."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ToolError(f"expression is nested too deeply (limit {MAX_DEPTH} levels)")
        if count > MAX_NODES:
            raise ToolError(f"expression is too long (limit {MAX_NODES} parts)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ToolError(f"only numbers are allowed, not {type(value).__name__} {value!r:.40}")
        return value
    if isinstance(node, ast.BinOp):
        op = _BINARY_OPS.get(type(node.op))
        if op is None:
            symbol = _OP_SYMBOLS.get(type(node.op), type(node.op).__name__)
            hint = "use ** for powers" if symbol == "^" else "allowed: + - * / // % **"
            raise ToolError(f"operator {symbol} is not supported", hint=hint)
        return op(_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return -_evaluate(node.operand)
        if isinstance(node.op, ast.UAdd):
            return +_evaluate(node.operand)
        raise ToolError(f"operator {type(node.op).__name__} is not supported", hint="allowed: unary + and -")
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ToolError(f"unknown name {node.id!r}", hint=f"constants: {', '.join(sorted(CONSTANTS))}")
    if isinstance(node, ast.Call):
        return _call(node)
    raise ToolError(
        f"{type(node).__name__} is not allowed in a calculation",
        hint="use numbers, + - * / // % **, parentheses and math functions like sqrt(x)",
    )


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        shown = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
        raise ToolError(
            f"function {shown!r} is not available", hint=f"available: {', '.join(sorted(FUNCTIONS))}"
        )
    name = node.func.id
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ToolError(f"{name}() takes plain positional arguments only")
    func, lo, hi = FUNCTIONS[name]
    if not lo <= len(node.args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ToolError(f"{name}() takes {want} argument(s), got {len(node.args)}")
    values = [_evaluate(a) for a in node.args]
    try:
        return _check_int(func(*values))
    except ValueError as exc:
        raise ToolError(f"math domain error in {name}(): {exc}") from None
    except TypeError as exc:
        raise ToolError(f"bad argument for {name}(): {exc}") from None


def _int_to_str(n: int) -> str:
    """Exact decimal text of ``n`` even past Python's 4300-digit ``str(int)`` guard (set process-wide)."""
    if n < 0:
        return "-" + _int_to_str(-n)
    if n.bit_length() < 12_000:
        return str(n)
    half = _int_digits(n) // 2
    high, low = divmod(n, 10**half)
    return _int_to_str(high) + _int_to_str(low).rjust(half, "0")


def format_number(value: Number) -> str:
    if isinstance(value, int):
        return _int_to_str(value)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def calculate(expression: str) -> Number:
    """Evaluate ``expression`` safely; raise ToolError with a human message when it cannot be done."""
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("the expression is empty", hint="for example: sqrt(2) * (3 + 4)")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise ToolError(f"not a valid expression: {getattr(exc, 'msg', exc)}") from None
    except (RecursionError, MemoryError):
        raise ToolError("expression is nested too deeply") from None
    _check_shape(tree)
    try:
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("the result is too large to represent") from None
    except RecursionError:
        raise ToolError("expression is nested too deeply") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is not a finite number")
    return value


class CalculatorTool(Tool):
    """Exact integer and float arithmetic without eval: the expression's syntax tree is checked first."""

    name = "calculator"
    description = (
        "Evaluate an arithmetic expression exactly: numbers, + - * / // % **, parentheses, "
        "pi, e, and functions such as sqrt, log, sin, abs, round, min, max, factorial."
    )
    parameters = {
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "e.g. (3 + 4) * sqrt(2)",
                "maxLength": MAX_EXPRESSION_CHARS,
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    }

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        expression = args["expression"]
        value = calculate(expression)
        text = format_number(value)
        data = {"expression": expression, "result": text, "type": type(value).__name__}
        return ToolResult(ok=True, output=text, data=data)
