"""Write a Python function add(a, b) that returns the sum of a and b."""

from solution import add


def test_add_1():
    assert add(2, 3) == 5


def test_add_2():
    assert add(-1, 1) == 0


def test_add_3():
    assert add(0, 0) == 0
