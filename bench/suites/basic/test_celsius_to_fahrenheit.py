"""Write a Python function celsius_to_fahrenheit(c) that converts a temperature in degrees Celsius to degrees Fahrenheit (F = C * 9 / 5 + 32)."""

from solution import celsius_to_fahrenheit


def test_celsius_to_fahrenheit_1():
    assert celsius_to_fahrenheit(0) == 32


def test_celsius_to_fahrenheit_2():
    assert celsius_to_fahrenheit(100) == 212


def test_celsius_to_fahrenheit_3():
    assert celsius_to_fahrenheit(-40) == -40
