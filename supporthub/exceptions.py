"""Domain errors raised by services; the API turns them into 400 answers naming the field."""


class DomainError(Exception):
    """A request that breaks a business rule (not a bug): shown to the caller as is."""

    def __init__(self, message: str, *, field: str = "non_field_errors", code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class TooLarge(DomainError):
    """Content over a size limit: answered with a 413 naming the field."""

    def __init__(self, message: str, *, field: str = "non_field_errors"):
        super().__init__(message, field=field, code="too_large")
