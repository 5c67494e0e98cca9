"""Refusals: the warehouse declines to act, for a reason an operator can fix.

A refusal is one readable line that says what is wrong and what to do, never a traceback:
`cfa` prints it as `cfa <command>: <message>` and exits with the refusal's status; inside a
Dagster step it fails the step with the same line.
"""

from __future__ import annotations


class Refusal(Exception):
    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
