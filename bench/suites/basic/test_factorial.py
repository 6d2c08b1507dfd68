"""Write a Python function factorial(n) that returns n! for a non-negative integer n (factorial(0) is 1)."""

from solution import factorial


def test_factorial_1():
    assert factorial(0) == 1


def test_factorial_2():
    assert factorial(1) == 1


def test_factorial_3():
    assert factorial(5) == 120
