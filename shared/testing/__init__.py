"""Pytest fixtures shared by every test suite: a fresh database and a private Redis db."""
