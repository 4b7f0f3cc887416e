"""One base for every error the station explains to its user.

Each stage raises its own subclass (ConfigError, ModelError, SourceError, StoreError, ...) with a
message that says what is wrong and what to do; the command line catches StationError, prints that
one line and exits 2, so systemd does not restart a station that cannot work as configured.
"""


class StationError(Exception):
    """A problem the user can fix; str(exc) is the whole explanation."""
