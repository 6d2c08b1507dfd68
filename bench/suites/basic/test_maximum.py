"""Write a Python function maximum(a, b) that returns the larger of the two numbers a and b."""

from solution import maximum


def test_maximum_1():
    assert maximum(2, 9) == 9


def test_maximum_2():
    assert maximum(9, 2) == 9


def test_maximum_3():
    assert maximum(-3, -5) == -3
