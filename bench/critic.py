"""Does the critic rank right code above wrong code? The project's own labelled right/wrong pairs.

Each pair is one small task with a right solution (terse text: "Done.") and a wrong one (an
off-by-one, a wrong operator, a wrong edge case …) whose text repeats the task's own words — the
case a keyword-overlap critic gets backwards. Both are scored by the real critic (real sandbox;
the judge is the bundled model unless ``--no-judge``), once without tests (examples written in the
task, static checks, the judge) and once with the pair's hidden tests given.

Prints one JSON object: auc_no_tests, auc_tests (probability the right answer outscores the wrong
one, ties count half), wrong_beats_right_rate (no tests; strictly higher), n_pairs, and a breakdown
by kind of mistake and by what grounded the scores; auc_tester_checks (and its wrong-beats-right rate)
with the tester's checks. Targets (issue 13): AUC ≥ 0.85 without tests,
≥ 0.95 with tests; wrong beats right ≤ 5%.

``calibration`` (issue 18, the self-improving critic) shows an approved critic_calibration's before/after:
the tasks are split by ``--seed`` into a learning half and a held-out half. Every score of the learning
half where the judge and the checks disagree (``learning.calibration.disagreement``, as a team run finds
them) is submitted through the real path (``submit_calibrations``: immune scan, quarantine) under a traced
run; each candidate is then approved with the Memory pane's own call (``engine.memories.decide(…,
"approve")``), standing in for the person. The held-out half is scored without tests before (no
calibration) and after (``critic.calibration = load_calibration(store)``, as a Team loads it), with the
same judge: its replies are deterministic (temperature 0, fixed seed), so the "after" scoring reuses them
instead of asking again (``judge_calls_reused``) — the only difference is the calibration.

Run: .venv/bin/python bench/critic.py [--no-judge] [--limit N] [--seed S] [--no-calibration]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _common  # noqa: E402,F401  (temp data dir)

# (function, task, right code, checks, [(kind of mistake, wrong code), …]). Written for this project.
TASKS = [
    ("add", "Write a function add(a, b) that returns the sum of a and b.",
     "def add(a, b):\n    return a + b\n",
     ["add(2, 3) == 5", "add(-1, 1) == 0"],
     [("wrong_operator", "def add(a, b):\n    return a - b\n"),
      ("off_by_one", "def add(a, b):\n    return a + b + 1\n")]),
    ("multiply", "Write a function multiply(a, b) that returns the product of a and b.",
     "def multiply(a, b):\n    return a * b\n",
     ["multiply(3, 4) == 12", "multiply(0, 5) == 0", "multiply(-2, 3) == -6"],
     [("wrong_operator", "def multiply(a, b):\n    return a + b\n"),
      ("wrong_operator", "def multiply(a, b):\n    return a ** b\n")]),
    ("average", "Write a function average(nums) that returns the mean of a non-empty list of numbers.",
     "def average(nums):\n    return sum(nums) / len(nums)\n",
     ["average([1, 2, 3]) == 2", "average([1, 2]) == 1.5", "average([5]) == 5"],
     [("off_by_one", "def average(nums):\n    return sum(nums) / (len(nums) - 1) if len(nums) > 1 else nums[0]\n"),
      ("wrong_edge_case", "def average(nums):\n    return sum(nums) // len(nums)\n")]),
    ("factorial", "Write a function factorial(n) that returns n! for n >= 0. For example factorial(5) returns 120.",
     "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n        result *= i\n    return result\n",
     ["factorial(0) == 1", "factorial(1) == 1", "factorial(5) == 120"],
     [("off_by_one", "def factorial(n):\n    result = 1\n    for i in range(2, n):\n        result *= i\n    return result\n"),
      ("wrong_edge_case", "def factorial(n):\n    if n <= 1:\n        return n\n    return n * factorial(n - 1)\n")]),
    ("is_prime", "Write a function is_prime(n) that returns True when n is a prime number.",
     "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n",
     ["is_prime(2)", "is_prime(13)", "not is_prime(1)", "not is_prime(9)", "not is_prime(4)"],
     [("wrong_edge_case", "def is_prime(n):\n    for i in range(2, n):\n        if n % i == 0:\n            return False\n    return True\n"),
      ("off_by_one", "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5)):\n        if n % i == 0:\n            return False\n    return True\n")]),
    ("fibonacci", "Write fibonacci(n) returning the n-th Fibonacci number, where fibonacci(0) == 0 and fibonacci(1) == 1.",
     "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
     ["fibonacci(0) == 0", "fibonacci(1) == 1", "fibonacci(10) == 55"],
     [("off_by_one", "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n + 1):\n        a, b = b, a + b\n    return a\n"),
      ("wrong_edge_case", "def fibonacci(n):\n    a, b = 1, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n")]),
    ("reverse_string", "Write a function reverse_string(s) that returns the string s reversed.",
     "def reverse_string(s):\n    return s[::-1]\n",
     ["reverse_string('abc') == 'cba'", "reverse_string('hello') == 'olleh'", "reverse_string('') == ''"],
     [("off_by_one", "def reverse_string(s):\n    return s[-1:0:-1]\n"),
      ("wrong_operator", "def reverse_string(s):\n    return ''.join(sorted(s, reverse=True))\n")]),
    ("count_vowels", "Write count_vowels(s) that counts the vowels a, e, i, o, u in s, upper or lower case.",
     "def count_vowels(s):\n    return sum(1 for ch in s.lower() if ch in 'aeiou')\n",
     ["count_vowels('Hello') == 2", "count_vowels('AEIOU') == 5", "count_vowels('xyz') == 0"],
     [("wrong_edge_case", "def count_vowels(s):\n    return sum(1 for ch in s if ch in 'aeiou')\n"),
      ("wrong_edge_case", "def count_vowels(s):\n    return sum(1 for ch in s.lower() if ch in 'aeiouy')\n")]),
    ("largest", "Write a function largest(nums) that returns the largest number in a non-empty list.",
     "def largest(nums):\n    best = nums[0]\n    for x in nums[1:]:\n        if x > best:\n            best = x\n    return best\n",
     ["largest([3, 9, 2]) == 9", "largest([-5, -2, -9]) == -2", "largest([7]) == 7"],
     [("wrong_edge_case", "def largest(nums):\n    best = 0\n    for x in nums:\n        if x > best:\n            best = x\n    return best\n"),
      ("wrong_operator", "def largest(nums):\n    best = nums[0]\n    for x in nums[1:]:\n        if x < best:\n            best = x\n    return best\n")]),
    ("remove_duplicates", "Write remove_duplicates(items) that removes repeated items, keeping the first occurrence of each in order.",
     "def remove_duplicates(items):\n    seen = set()\n    out = []\n    for x in items:\n        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out\n",
     ["remove_duplicates([3, 1, 3, 2, 1]) == [3, 1, 2]", "remove_duplicates([]) == []"],
     [("wrong_edge_case", "def remove_duplicates(items):\n    return sorted(set(items))\n"),
      ("wrong_edge_case", "def remove_duplicates(items):\n    return [x for i, x in enumerate(items) if x not in items[i + 1:]]\n")]),
    ("is_palindrome", "Write is_palindrome(s) that returns True if s reads the same forwards and backwards.",
     "def is_palindrome(s):\n    return s == s[::-1]\n",
     ["is_palindrome('racecar')", "not is_palindrome('abca')", "is_palindrome('')"],
     [("wrong_edge_case", "def is_palindrome(s):\n    return s[0] == s[-1]\n"),
      ("off_by_one", "def is_palindrome(s):\n    return s[1:] == s[::-1][1:] and len(s) > 0\n")]),
    ("celsius_to_fahrenheit", "Write celsius_to_fahrenheit(c) converting degrees Celsius to Fahrenheit (multiply by 9/5, then add 32).",
     "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n",
     ["celsius_to_fahrenheit(0) == 32", "celsius_to_fahrenheit(100) == 212", "celsius_to_fahrenheit(-40) == -40"],
     [("wrong_operator", "def celsius_to_fahrenheit(c):\n    return c * 5 / 9 + 32\n"),
      ("wrong_operator", "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 - 32\n")]),
    ("clamp", "Write clamp(x, lo, hi) that limits x to the range lo to hi inclusive.",
     "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n",
     ["clamp(5, 0, 10) == 5", "clamp(-3, 0, 10) == 0", "clamp(42, 0, 10) == 10"],
     [("wrong_edge_case", "def clamp(x, lo, hi):\n    return x if lo < x < hi else lo\n"),
      ("wrong_operator", "def clamp(x, lo, hi):\n    return min(lo, max(x, hi))\n")]),
    ("sum_of_digits", "Write sum_of_digits(n) that returns the sum of the decimal digits of a non-negative integer n.",
     "def sum_of_digits(n):\n    return sum(int(d) for d in str(n))\n",
     ["sum_of_digits(0) == 0", "sum_of_digits(123) == 6", "sum_of_digits(9) == 9"],
     [("off_by_one", "def sum_of_digits(n):\n    total = 0\n    while n > 9:\n        total += n % 10\n        n //= 10\n    return total\n"),
      ("wrong_operator", "def sum_of_digits(n):\n    return len(str(n))\n")]),
    ("count_words", "Write count_words(text) that returns how many words text has, words being separated by whitespace.",
     "def count_words(text):\n    return len(text.split())\n",
     ["count_words('a b c') == 3", "count_words('') == 0", "count_words('  two   words ') == 2"],
     [("off_by_one", "def count_words(text):\n    return text.count(' ')\n"),
      ("wrong_edge_case", "def count_words(text):\n    return len(text.split(' '))\n")]),
    ("gcd", "Write gcd(a, b) returning the greatest common divisor of two positive integers.",
     "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
     ["gcd(12, 18) == 6", "gcd(7, 5) == 1", "gcd(10, 10) == 10"],
     [("wrong_edge_case", "def gcd(a, b):\n    return min(a, b)\n"),
      ("wrong_operator", "def gcd(a, b):\n    while b:\n        a, b = b, a // b\n    return a\n")]),
    ("power", "Write power(base, exp) that returns base raised to the non-negative integer exp; power(2, 0) is 1.",
     "def power(base, exp):\n    result = 1\n    for _ in range(exp):\n        result *= base\n    return result\n",
     ["power(2, 0) == 1", "power(2, 10) == 1024", "power(3, 3) == 27"],
     [("off_by_one", "def power(base, exp):\n    result = base\n    for _ in range(1, exp):\n        result *= base\n    return result\n"),
      ("wrong_operator", "def power(base, exp):\n    return base * exp\n")]),
    ("spread", "Write spread(nums) that returns the difference between the largest and the smallest number in a list.",
     "def spread(nums):\n    return max(nums) - min(nums)\n",
     ["spread([3, 9, 2]) == 7", "spread([5]) == 0", "spread([-1, 1]) == 2"],
     [("wrong_operator", "def spread(nums):\n    return max(nums) + min(nums)\n"),
      ("wrong_edge_case", "def spread(nums):\n    return max(nums) - nums[0]\n")]),
    ("last_element", "Write last_element(items) that returns the last element of a list, or None when it is empty.",
     "def last_element(items):\n    return items[-1] if items else None\n",
     ["last_element([1, 2, 3]) == 3", "last_element([]) is None"],
     [("off_by_one", "def last_element(items):\n    return items[len(items)] if items else None\n"),
      ("wrong_edge_case", "def last_element(items):\n    return items[-1]\n")]),
    ("title_case", "Write title_case(s) that upper-cases the first letter of every word in s and lower-cases the rest.",
     "def title_case(s):\n    return ' '.join(w[:1].upper() + w[1:].lower() for w in s.split(' '))\n",
     ["title_case('hello world') == 'Hello World'", "title_case('pYTHON') == 'Python'"],
     [("wrong_operator", "def title_case(s):\n    return s.upper()\n"),
      ("wrong_edge_case", "def title_case(s):\n    return s.capitalize()\n")]),
    ("flatten", "Write flatten(nested) that turns a list of lists into one list with all their items in order.",
     "def flatten(nested):\n    return [x for sub in nested for x in sub]\n",
     ["flatten([[1, 2], [3], []]) == [1, 2, 3]", "flatten([]) == []"],
     [("off_by_one", "def flatten(nested):\n    return [x for sub in nested for x in sub[1:]]\n"),
      ("wrong_edge_case", "def flatten(nested):\n    return nested[0] + nested[-1] if nested else []\n")]),
    ("is_leap_year", "Write is_leap_year(year). is_leap_year(2000) returns True, is_leap_year(1900) returns False and is_leap_year(2024) returns True.",
     "def is_leap_year(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n",
     ["is_leap_year(2000)", "not is_leap_year(1900)", "is_leap_year(2024)", "not is_leap_year(2023)"],
     [("wrong_edge_case", "def is_leap_year(year):\n    return year % 4 == 0\n"),
      ("wrong_edge_case", "def is_leap_year(year):\n    return year % 400 == 0\n")]),
    ("second_largest", "Write second_largest(nums) that returns the second largest distinct value in a list with at least two distinct values.",
     "def second_largest(nums):\n    return sorted(set(nums))[-2]\n",
     ["second_largest([1, 5, 3]) == 3", "second_largest([5, 5, 4]) == 4"],
     [("wrong_edge_case", "def second_largest(nums):\n    return sorted(nums)[-2]\n"),
      ("off_by_one", "def second_largest(nums):\n    return sorted(set(nums))[1]\n")]),
    ("running_total", "Write running_total(nums) that returns the list of cumulative sums, e.g. running_total([1, 2, 3]) returns [1, 3, 6].",
     "def running_total(nums):\n    out, total = [], 0\n    for x in nums:\n        total += x\n        out.append(total)\n    return out\n",
     ["running_total([1, 2, 3]) == [1, 3, 6]", "running_total([]) == []"],
     [("off_by_one", "def running_total(nums):\n    out, total = [], 0\n    for x in nums:\n        out.append(total)\n        total += x\n    return out\n"),
      ("wrong_operator", "def running_total(nums):\n    out, total = [], 1\n    for x in nums:\n        total *= x\n        out.append(total)\n    return out\n")]),
    ("count_occurrences", "Write count_occurrences(items, x) that returns how many times x appears in items.",
     "def count_occurrences(items, x):\n    return sum(1 for i in items if i == x)\n",
     ["count_occurrences([1, 2, 1], 1) == 2", "count_occurrences([], 3) == 0"],
     [("wrong_operator", "def count_occurrences(items, x):\n    return sum(1 for i in items if i != x)\n"),
      ("wrong_edge_case", "def count_occurrences(items, x):\n    return items.index(x) + 1 if x in items else 0\n")]),
    ("merge_sorted", "Write merge_sorted(a, b) that merges two sorted lists into one sorted list.",
     "def merge_sorted(a, b):\n    out, i, j = [], 0, 0\n    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n            out.append(a[i]); i += 1\n        else:\n            out.append(b[j]); j += 1\n    return out + a[i:] + b[j:]\n",
     ["merge_sorted([1, 4], [2, 3, 5]) == [1, 2, 3, 4, 5]", "merge_sorted([], [1]) == [1]"],
     [("wrong_edge_case", "def merge_sorted(a, b):\n    out, i, j = [], 0, 0\n    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n            out.append(a[i]); i += 1\n        else:\n            out.append(b[j]); j += 1\n    return out\n"),
      ("wrong_operator", "def merge_sorted(a, b):\n    return a + b\n")]),
    ("chunk", "Write chunk(items, size) that splits items into consecutive lists of length size; the last one may be shorter.",
     "def chunk(items, size):\n    return [items[i:i + size] for i in range(0, len(items), size)]\n",
     ["chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]", "chunk([], 3) == []"],
     [("wrong_edge_case", "def chunk(items, size):\n    return [items[i:i + size] for i in range(0, len(items) - size + 1, size)]\n"),
      ("off_by_one", "def chunk(items, size):\n    return [items[i:i + size + 1] for i in range(0, len(items), size)]\n")]),
    ("to_binary", "Write to_binary(n) returning the binary digits of a non-negative integer as a string, e.g. to_binary(5) == '101' and to_binary(0) == '0'.",
     "def to_binary(n):\n    return format(n, 'b')\n",
     ["to_binary(5) == '101'", "to_binary(0) == '0'", "to_binary(8) == '1000'"],
     [("wrong_edge_case", "def to_binary(n):\n    s = ''\n    while n > 0:\n        s = str(n % 2) + s\n        n //= 2\n    return s\n"),
      ("wrong_operator", "def to_binary(n):\n    return bin(n)\n")]),
    ("median", "Write median(nums) that returns the median of a non-empty list of numbers.",
     "def median(nums):\n    s = sorted(nums)\n    m = len(s) // 2\n    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2\n",
     ["median([3, 1, 2]) == 2", "median([4, 1, 3, 2]) == 2.5", "median([7]) == 7"],
     [("wrong_edge_case", "def median(nums):\n    s = sorted(nums)\n    return s[len(s) // 2]\n"),
      ("wrong_edge_case", "def median(nums):\n    m = len(nums) // 2\n    return nums[m] if len(nums) % 2 else (nums[m - 1] + nums[m]) / 2\n")]),
    ("safe_divide", "Write safe_divide(a, b) that returns the quotient of a divided by b, or None when b is zero.",
     "def safe_divide(a, b):\n    return None if b == 0 else a / b\n",
     ["safe_divide(7, 2) == 3.5", "safe_divide(1, 0) is None"],
     [("wrong_operator", "def safe_divide(a, b):\n    return None if b == 0 else a // b\n"),
      ("wrong_edge_case", "def safe_divide(a, b):\n    return a / b\n")]),
    ("product_of_list", "Write product_of_list(nums) that returns the product of all the numbers, and 1 for an empty list.",
     "def product_of_list(nums):\n    result = 1\n    for x in nums:\n        result *= x\n    return result\n",
     ["product_of_list([2, 3, 4]) == 24", "product_of_list([]) == 1"],
     [("wrong_edge_case", "def product_of_list(nums):\n    result = 0\n    for x in nums:\n        result *= x\n    return result\n"),
      ("wrong_operator", "def product_of_list(nums):\n    return sum(nums) if nums else 1\n")]),
    ("digits_reversed", "Write digits_reversed(n) that returns the digits of a positive integer in reverse order as an int.",
     "def digits_reversed(n):\n    return int(str(n)[::-1])\n",
     ["digits_reversed(123) == 321", "digits_reversed(120) == 21", "digits_reversed(7) == 7"],
     [("wrong_operator", "def digits_reversed(n):\n    return str(n)[::-1]\n"),
      ("off_by_one", "def digits_reversed(n):\n    return int(str(n)[:0:-1] or 0)\n")]),
]

TERSE = ["Done.", "Returns the result.", "Straightforward.", "Here it is."]


def pairs():
    """(task, function, right reply, wrong reply, kind, pytest file) for every labelled pair."""
    for n, (name, task, right, checks, wrongs) in enumerate(TASKS):
        tests = f"from solution import {name}\n\n" + "".join(
            f"\ndef test_{i}():\n    assert {c}\n" for i, c in enumerate(checks)
        )
        parrot = "This function " + task.split(" ", 1)[1].rstrip(".") + ". It is correct and handles every case."
        for kind, wrong in wrongs:
            yield (task, name, f"```python\n{right}```\n{TERSE[n % len(TERSE)]}", f"```python\n{wrong}```\n{parrot}", kind, tests)


def auc(rows, key) -> float:
    wins = sum(1.0 if r[key][0] > r[key][1] else 0.5 if r[key][0] == r[key][1] else 0.0 for r in rows)
    return round(wins / len(rows), 3) if rows else 0.0


class SameJudge:
    """The judge model, its JSON replies remembered by prompt: asking again gives the same answer anyway
    (temperature 0, fixed seed), so a rescoring only pays for what changed."""

    def __init__(self, model) -> None:
        self.model = model
        self.replies: dict[str, dict] = {}
        self.calls = 0
        self.reused = 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def complete_json(self, messages, schema, *, settings=None, **kwargs):
        key = json.dumps([messages, schema, getattr(settings, "seed", None), getattr(settings, "max_tokens", None)])
        self.calls += 1
        if key in self.replies:
            self.reused += 1
            return dict(self.replies[key])
        reply = self.model.complete_json(messages, schema, settings=settings, **kwargs)
        self.replies[key] = dict(reply)
        return reply


def tester_checks(model, task: str, name: str) -> list[str]:
    """The asserts a team's tester writes for ``task`` before any solution exists (agents/checkwriter.py),
    with the tester role's own prompt; the architect's plan a team run would add is left out."""
    from purpose_desktop.engine.agents.checkwriter import write_checks
    from purpose_desktop.engine.agents.roles import role_template

    tester = role_template("tester")
    messages = [
        {"role": "system", "content": f"You are the {tester.title}. {tester.instructions}"},
        {"role": "user", "content": f"Task: {task}"},
    ]
    return write_checks(model, messages, name).asserts


def tester_outcome(critic, reply: str, asserts: list[str]):
    """The tester's checks run against the reply's code, as the team's code phase runs them."""
    from purpose_desktop.engine.agents.selection import Check, CheckSet, probe
    from purpose_desktop.engine.critic import extract_code

    code = extract_code(reply)
    if not asserts or code is None:
        return None
    checkset = CheckSet([Check("tester", a) for a in asserts], "", [])
    return probe(critic.runner, code, checkset).outcome(checkset, "tester")


def split_tasks(names, seed: int) -> tuple[set[str], set[str]]:
    """The task names in a learning half and a held-out half, shuffled by ``seed``."""
    names = sorted(set(names))
    random.Random(seed).shuffle(names)
    half = len(names) // 2
    return set(names[:half]), set(names[half:])


def calibration_before_after(critic, rows, scores, seed: int) -> dict:
    """Learn critic calibrations on one half of the tasks, then score the other half before and after."""
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.families import task_family
    from purpose_desktop.engine.learning.calibration import (
        disagreement,
        load_calibration,
        submit_calibrations,
    )
    from purpose_desktop.engine.runmode import RunMode
    from purpose_desktop.engine.settings import EngineSettings
    from purpose_desktop.engine.store import Store
    from purpose_desktop.engine.store.trace import TraceRecorder

    learn, held = split_tasks([r["function"] for r in rows], seed)
    learn_rows = [i for i, r in enumerate(rows) if r["function"] in learn]
    held_rows = [i for i, r in enumerate(rows) if r["function"] in held]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(store=Store(Path(tmp) / "critic-calibration.db"), settings=EngineSettings())
        try:
            by_task: dict[str, list[dict]] = defaultdict(list)
            for i in learn_rows:
                task = scores[i]["task"]
                for score in scores[i]["no_tests"] + scores[i]["tests"]:
                    signal = disagreement(score, task, "coder")
                    if signal is not None:
                        by_task[task].append(signal)
            candidates = []
            for task, signals in by_task.items():  # one traced run per task, as a team run would be
                trace = TraceRecorder(engine.store, RunMode.LEARNING_TRAIN)
                trace.start(task=task, purpose="bench/critic.py learning half", team="bench critic", roles=["coder"])
                trace.finish(status="complete", answer="", score=None, tokens_work=0, tokens_judge=0)
                candidates += submit_calibrations(engine.store, signals, trace.run_id)
            memories = {m.id: m for m in engine.memories.bank().list(kind="critic_calibration")}
            pending = [c["id"] for c in candidates if memories[c["id"]].status == "quarantined"]
            if pending:  # the Memory pane's Approve, standing in for the person
                engine.memories.decide(sorted(set(pending)), "approve", "bench/critic.py: standing in for the person")
            weights = load_calibration(engine.store)
            shown = [
                {"family": c["family"], "outcome": c["outcome"], "text": memories[c["id"]].text}
                for c in candidates
            ]
        finally:
            engine.close()
    before = [rows[i] for i in held_rows]
    critic.calibration = weights
    after = []
    for i in held_rows:
        task = scores[i]["task"]
        pair = [critic.score_step(task=task, role="coder", kind="code", output=r) for r in scores[i]["replies"]]
        after.append({"no_tests": (pair[0].value, pair[1].value), "family": task_family(task)})
    critic.calibration = {}

    def beats(rs):
        return round(sum(r["no_tests"][1] > r["no_tests"][0] for r in rs) / max(1, len(rs)), 3)

    def order(pair):
        return (pair[0] > pair[1]) - (pair[0] < pair[1])

    return {
        "auc_no_tests_before": auc(before, "no_tests"),
        "auc_no_tests_after": auc(after, "no_tests"),
        "wrong_beats_right_before": beats(before),
        "wrong_beats_right_after": beats(after),
        "n_calibrations": len(weights),
        "families": weights,
        "split_seed": seed,
        "learning_tasks": sorted(learn),
        "heldout_tasks": sorted(held),
        "n_pairs_learning": len(learn_rows),
        "n_pairs_heldout": len(held_rows),
        "n_disagreements": sum(len(v) for v in by_task.values()),
        "candidates": shown,
        "heldout_pairs_in_calibrated_families": sum(a["family"] in weights for a in after),
        "heldout_pairs_reordered": sum(order(b["no_tests"]) != order(a["no_tests"]) for b, a in zip(before, after, strict=True)),
        "heldout_scores_changed": sum(b["no_tests"] != a["no_tests"] for b, a in zip(before, after, strict=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-judge", action="store_true", help="score without the model (evidence only)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pairs")
    parser.add_argument("--seed", type=int, default=0, help="how the tasks are split for the calibration before/after")
    parser.add_argument("--no-calibration", action="store_true", help="skip the calibration before/after")
    args = parser.parse_args()
    from purpose_desktop.engine.critic import PurposeFunction, extract_code

    model = None
    if not args.no_judge:
        from purpose_desktop.engine.models import LocalModel, default_model_path

        model = LocalModel(default_model_path(), n_ctx=4096)
    judge = SameJudge(model) if model is not None else None
    critic = PurposeFunction(judge)
    started = time.perf_counter()
    rows, label_errors, scores = [], [], []
    written: dict[str, list[str]] = {}
    items = list(pairs())[: args.limit or None]
    for task, name, right, wrong, kind, tests in items:
        row = {"function": name, "kind": kind}
        outcomes = [critic.run_tests(extract_code(r), tests) for r in (right, wrong)]
        if not outcomes[0].all_passed or outcomes[1].all_passed:
            label_errors.append(name)  # the bench's own labels must hold against its hidden tests
        plain = [critic.score_step(task=task, role="coder", kind="code", output=r) for r in (right, wrong)]
        tested = [
            critic.score_step(task=task, role="coder", kind="code", output=r, tests=o)
            for r, o in zip((right, wrong), outcomes, strict=True)
        ]
        row["no_tests"] = (plain[0].value, plain[1].value)
        row["tests"] = (tested[0].value, tested[1].value)
        if model is not None:  # no hand-written tests, but the checks a team's tester writes first
            if name not in written:
                written[name] = tester_checks(model, task, name)
            checked = [
                critic.score_step(task=task, role="coder", kind="code", output=r, tests=tester_outcome(critic, r, written[name]))
                for r in (right, wrong)
            ]
            row["tester_checks"] = (checked[0].value, checked[1].value)
            row["n_tester_checks"] = len(written[name])
        row["grounds_no_tests"] = (plain[0].grounded_by, plain[1].grounded_by)
        rows.append(row)
        scores.append({"task": task, "replies": (right, wrong), "no_tests": plain, "tests": tested})
        print(json.dumps(row), file=sys.stderr, flush=True)  # progress: a cut-off run still shows its pairs
    by_kind = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    report = {
        "auc_no_tests": auc(rows, "no_tests"),
        "auc_tests": auc(rows, "tests"),
        "wrong_beats_right_rate": round(sum(r["no_tests"][1] > r["no_tests"][0] for r in rows) / max(1, len(rows)), 3),
        "wrong_beats_right_rate_tests": round(sum(r["tests"][1] > r["tests"][0] for r in rows) / max(1, len(rows)), 3),
        "ties_no_tests": sum(r["no_tests"][0] == r["no_tests"][1] for r in rows),
        "n_pairs": len(rows),
        "n_tasks": len({r["function"] for r in rows}),
        "judge": None if model is None else getattr(model, "display_name", "model"),
        "auc_no_tests_by_kind": {k: auc(v, "no_tests") for k, v in sorted(by_kind.items())},
        **(
            {
                "auc_tester_checks": auc(rows, "tester_checks"),
                "wrong_beats_right_rate_tester_checks": round(
                    sum(r["tester_checks"][1] > r["tester_checks"][0] for r in rows) / max(1, len(rows)), 3
                ),
                "auc_tester_checks_by_kind": {k: auc(v, "tester_checks") for k, v in sorted(by_kind.items())},
                "tester_checks_per_task": round(sum(map(len, written.values())) / max(1, len(written)), 2),
                "tasks_without_tester_checks": sorted(k for k, v in written.items() if not v),
            }
            if model is not None
            else {}
        ),
        "grounded_by_no_tests": dict(Counter(g for r in rows for g in r["grounds_no_tests"])),
        "label_errors": label_errors,
    }
    if not args.no_calibration:
        if judge is None:
            report["calibration"] = {"n_calibrations": 0, "note": "no judge (--no-judge): nothing to calibrate"}
        else:
            calls, reused = judge.calls, judge.reused
            report["calibration"] = calibration_before_after(critic, rows, scores, args.seed)
            report["calibration"]["judge_calls_reused"] = judge.reused - reused  # in the "after" scoring
            report["calibration"]["judge_calls_new"] = (judge.calls - calls) - (judge.reused - reused)
    if args.limit:
        report["reduced"] = f"first {len(items)} of {len(list(pairs()))} pairs (--limit {args.limit})"
    report["seconds"] = round(time.perf_counter() - started, 1)
    if model is not None:
        model.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
