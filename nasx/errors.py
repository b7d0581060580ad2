"""User-facing errors.

Every problem caused by the user's input (a config key, a search-space file, a dataset, a
checkpoint) raises a :class:`NasxError`. The CLI prints its message on one line and exits with
status 2; the message names the problem and, where there is one, the fix.
"""

from __future__ import annotations


class NasxError(Exception):
    """An error in the user's input; the CLI prints it on one line and exits with status 2."""


class ConfigError(NasxError):
    """A bad config file, key or ``key=value`` override."""


class SpaceError(NasxError):
    """A bad search-space YAML file or preset name."""


class ArchError(NasxError):
    """An architecture (arch JSON or genome) that does not fit its search space."""


class DataError(NasxError):
    """A dataset that cannot be found or is malformed."""


class RunError(NasxError):
    """A run folder that cannot be used as asked (exists, missing, locked)."""


class DeviceError(NasxError):
    """A bad device profile file or an unknown device name."""
