"""Write a Python function count_vowels(s) that returns how many vowels (a, e, i, o, u, upper or lower case) the string s contains."""

from solution import count_vowels


def test_count_vowels_1():
    assert count_vowels('hello') == 2


def test_count_vowels_2():
    assert count_vowels('xyz') == 0


def test_count_vowels_3():
    assert count_vowels('AEIOU') == 5
