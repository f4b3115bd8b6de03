"""The project's exception tree: catch these narrowly at the edges."""


class PmmError(Exception):
    """Root of every error pmm raises on purpose."""


class ConfigError(PmmError):
    """A config file or CLI value is invalid; the message names the field and the allowed range."""


class PriceError(PmmError, ValueError):
    """A price or size cannot be represented exactly on pmm's integer grid."""


class BusError(PmmError):
    """A bus socket could not be set up as configured."""


class VenueError(PmmError):
    """A venue call failed. `definitive` says whether the venue surely did not act."""

    def __init__(self, message: str, *, definitive: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.definitive = definitive
        self.status = status


class AuthError(PmmError):
    """A control message failed authentication."""
