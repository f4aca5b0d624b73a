"""The errors deft-report reports and the exit status each one gets."""


class UsageError(Exception):
    """A wrong command line: exit status 2."""


class InputError(Exception):
    """An input that cannot be read or is not valid: exit status 1.  The
    message names the file and, where known, the line."""

    def __init__(self, source, line, message):
        self.source = source
        self.line = line
        where = "%s:%d" % (source, line) if line else source
        super().__init__("%s: %s" % (where, message))
