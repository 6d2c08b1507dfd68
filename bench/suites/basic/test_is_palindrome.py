"""Write a Python function is_palindrome(s) that returns True when the string s reads the same forwards and backwards, else False."""

from solution import is_palindrome


def test_is_palindrome_1():
    assert is_palindrome('level') is True


def test_is_palindrome_2():
    assert is_palindrome('abc') is False


def test_is_palindrome_3():
    assert is_palindrome('') is True
