"""Texts that people read or hear (SMS, spoken TwiML, page bodies) composed from parts."""

from __future__ import annotations

SENTENCE_ENDS = (".", "!", "?", "…")


def sentence(text: str) -> str:
    """`text` stripped and ending with exactly one full stop, unless it already ends a sentence
    ("Printer broken" → "Printer broken.", "Is it down?" stays): a title or reason joined into
    a longer text never doubles its stop ("answered.. Ticket SH-1001")."""
    text = text.strip()
    return text if not text or text.endswith(SENTENCE_ENDS) else f"{text}."
