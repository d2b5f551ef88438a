"""Text clean-up shared by every intake path."""


def single_line(text: str) -> str:
    """`text` on one line: each line break (CR, LF, CRLF, Unicode's others) becomes a space.

    For values that end up in a header, such as a ticket's subject in its emails.
    """
    return " ".join(text.splitlines())
