"""Write a Python function reverse_string(s) that returns the string s reversed."""

from solution import reverse_string


def test_reverse_string_1():
    assert reverse_string('abc') == 'cba'


def test_reverse_string_2():
    assert reverse_string('') == ''


def test_reverse_string_3():
    assert reverse_string('a') == 'a'
