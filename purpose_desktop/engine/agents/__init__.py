"""Agents: roles chosen from a purpose, Spark (one agent's step loop) and Team (roles in order)."""
