"""The one exception the SDK raises for anything the master refused or could not be reached for."""


class TitanError(Exception):
    """A failure with a stable code (``E_UNKNOWN_JOB``, ``E_UNAUTHENTICATED``, ...) and a message saying what to do.

    The codes are the master's (see src/common/errors.ts); the SDK adds none of its own, so
    ``except TitanError as e: if e.code == "E_UNKNOWN_JOB": ...`` works the same for errors
    raised locally and errors the master answered with.
    """

    #: True when the call failed because the connection to the master was lost (it may be retried).
    connection_lost = False

    def __init__(self, code, message, leader=None):
        super().__init__(code, message)
        self.code = code
        self.message = message
        #: With E_NOT_LEADER: the leader's address (host:port) the standby named, or None when it knows none.
        self.leader = leader

    def __str__(self):
        return f"{self.code}: {self.message}"


# The master's codes used by the SDK itself.
E_BAD_FRAME = "E_BAD_FRAME"
E_FRAME_TOO_LARGE = "E_FRAME_TOO_LARGE"
E_BAD_BODY = "E_BAD_BODY"
E_UNAUTHENTICATED = "E_UNAUTHENTICATED"
E_FORBIDDEN = "E_FORBIDDEN"
E_RATE_LIMITED = "E_RATE_LIMITED"
E_QUOTA_EXCEEDED = "E_QUOTA_EXCEEDED"
E_UNKNOWN_JOB = "E_UNKNOWN_JOB"
E_UNKNOWN_ARTIFACT = "E_UNKNOWN_ARTIFACT"
E_INVALID_REQUEST = "E_INVALID_REQUEST"
E_UNSAFE_PATH = "E_UNSAFE_PATH"
E_CONNECTION_CLOSED = "E_CONNECTION_CLOSED"
E_TIMEOUT = "E_TIMEOUT"
E_INTERNAL = "E_INTERNAL"
#: A standby (or a master that lost its lease) refused the request and did nothing; ``leader`` names whom to ask.
E_NOT_LEADER = "E_NOT_LEADER"
#: A master's write was refused by the store because a newer leader holds the lease: nothing was done.
E_FENCED = "E_FENCED"
