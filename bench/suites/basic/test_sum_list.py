"""Write a Python function sum_list(numbers) that returns the sum of the numbers in the list (0 for an empty list)."""

from solution import sum_list


def test_sum_list_1():
    assert sum_list([1, 2, 3]) == 6


def test_sum_list_2():
    assert sum_list([]) == 0


def test_sum_list_3():
    assert sum_list([-1, 1]) == 0
