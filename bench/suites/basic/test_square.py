"""Write a Python function square(x) that returns x multiplied by itself."""

from solution import square


def test_square_1():
    assert square(3) == 9


def test_square_2():
    assert square(-4) == 16


def test_square_3():
    assert square(0) == 0
