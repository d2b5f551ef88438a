"""Phone numbers: one parser so every part of SupportHub stores the same E.164 form."""

import functools

import phonenumbers

E164_HINT = "Use E.164 form: a plus sign, the country code and the number, e.g. +14155550123."


class InvalidPhoneNumber(ValueError):
    """The value is not a valid international phone number."""


# Parsing is a fair share of a voice webhook's CPU, and the same few numbers (our own line,
# the on-call chain) come back on every call; invalid input raises and is not cached.
@functools.lru_cache(maxsize=4096)
def to_e164(value: str) -> str:
    """Return `value` as a normalised E.164 number; raise InvalidPhoneNumber otherwise.

    Spaces, dashes and brackets are tolerated; the country code is required.
    """
    raw = (value or "").strip()
    if not raw.startswith("+"):
        raise InvalidPhoneNumber(f"{raw!r} has no country code. {E164_HINT}")
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number. {E164_HINT}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number. {E164_HINT}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
