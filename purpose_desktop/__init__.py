"""Purpose Desktop: an offline desktop coding helper that learns only from tested, approved memories."""

__version__ = "0.1.0"
