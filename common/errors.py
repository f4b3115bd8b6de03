"""The project's exception tree: catch these narrowly at the edges."""

__all__ = ["AuthError", "BusError", "ConfigError", "PmmError", "PriceError", "StorageError",
    "VenueDataError", "VenueError", "short_repr"]


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


def short_repr(value: object, limit: int = 60) -> str:
    """A bounded, constant-time description of a value from the outside world.

    Never calls repr() on a container or a huge int: repr of a 10,000-digit int raises
    ValueError and repr of a deep list is slow, and both would defeat a venue edge that
    must stay fast on hostile input.
    """
    if isinstance(value, str):
        text = repr(value[:limit])
        return text if len(value) <= limit else text + "..."
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, (list, dict, tuple)):
        return f"<{type(value).__name__} of {len(value)}>"
    return f"<{type(value).__name__}>"


class VenueDataError(PriceError):
    """A venue message carries an unusable value: the message is dropped and counted.

    `field` is the venue's name of the bad field (a bounded metric label, chosen by our
    parser, never taken from the payload); `value` is a short description of what came.
    Subclasses PriceError so every existing `except PriceError` at the edges still holds.
    """

    def __init__(self, field: str, value: object, reason: str = "unusable") -> None:
        self.field = field
        self.value = short_repr(value)
        said = self.value in reason  # a wrapped PriceError already quotes the value
        super().__init__(f"{field}: {reason}" if said else f"{field}: {reason}: {self.value}")


class StorageError(PmmError):
    """A durable write failed (disk full, I/O error, a read-only or corrupt file).

    Never fatal: the process that owns the store latches its kill switch, cancels, counts
    the fault in `pmm_storage_faults_total` and keeps answering (issue 15, item 4).
    """
