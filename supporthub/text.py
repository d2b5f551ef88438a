"""Text clean-up shared by every path that composes what people read or hear."""

from __future__ import annotations

SENTENCE_ENDS = (".", "!", "?", "…")


def single_line(text: str) -> str:
    """`text` on one line: each line break (CR, LF, CRLF, Unicode's others) becomes a space.

    For values that end up in a header, such as a ticket's subject in its emails.
    """
    return " ".join(text.splitlines())


def sentence(text: str) -> str:
    """`text` stripped and ending with exactly one full stop, unless it already ends a sentence
    ("Printer broken" → "Printer broken.", "Is it down?" stays): a title or reason joined into
    a longer text never doubles its stop ("answered.. Ticket SH-1001")."""
    text = text.strip()
    return text if not text or text.endswith(SENTENCE_ENDS) else f"{text}."
