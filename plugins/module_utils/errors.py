# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the dockerup engine. They carry plain text that names where the problem is."""

from __future__ import annotations


class DockerupError(Exception):
    """Any failure of the engine that stops a run before it changes anything."""


class DefinitionError(DockerupError):
    """One or more definitions are invalid. ``problems`` lists every one, each a full sentence."""

    SHOWN = 50  # problems written out in the message; the rest are counted

    def __init__(self, problems):
        self.problems = list(problems)
        count = len(self.problems)
        head = "%d problem%s in container definitions; nothing was changed" % (count, "" if count == 1 else "s")
        lines = ["- " + p for p in self.problems[:self.SHOWN]]
        if count > self.SHOWN:
            lines.append("- ... and %d more" % (count - self.SHOWN))
        super().__init__(head + ":\n" + "\n".join(lines))


class EngineUnreachable(DockerupError):
    """The Docker engine did not answer."""


class Interrupted(DockerupError):
    """A stop was requested before the run changed anything (for example while it waited for the lock)."""
