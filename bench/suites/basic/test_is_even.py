"""Write a Python function is_even(n) that returns True when the integer n is even and False otherwise."""

from solution import is_even


def test_is_even_1():
    assert is_even(4) is True


def test_is_even_2():
    assert is_even(7) is False


def test_is_even_3():
    assert is_even(0) is True
