"""Subcommands beyond ``run``, ``predict`` and ``runs``: one module each.

Each module defines ``register(sub)`` (see :func:`mlresearcher.cli._register_commands`).
Helpers shared by several commands (argument types, the store) live in
:mod:`mlresearcher.cli` and are imported from there.
"""
