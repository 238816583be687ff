from __future__ import annotations


class RehearsalError(Exception):
    """Bad input or an environment the rehearsal cannot run in: one line for the operator, exit status 2."""
