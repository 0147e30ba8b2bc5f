"""The `searchkit` command line: thin commands over the library."""

from .main import cli, main

__all__ = ["cli", "main"]
