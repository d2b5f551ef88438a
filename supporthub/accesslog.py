"""gunicorn's access log without secrets (gunicorn.conf.py sets it as `logger_class`).

The iCal feed takes its token in the query string because calendar apps cannot send
headers; the access log keeps the request line but shows the token as `[redacted]`.
Credential headers are redacted too, should a custom `access_log_format` include them.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn import glogging

_SECRET_PARAM = re.compile(r"(?i)((?:^|[?&;])(?:[a-z_]*token)=)[^&;#\s]*")
_URL_ATOMS = ("r", "q", "f", "{referer}i")
_SECRET_HEADERS = ("{x-api-key}i", "{authorization}i", "{cookie}i")
REDACTED = "[redacted]"


def redact_url(text: str) -> str:
    """`text` with the value of every `token` (or `…_token`) query parameter redacted."""
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)


class AccessLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in _URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_url(atoms[name])
        for name in _SECRET_HEADERS:
            if name in atoms:
                atoms[name] = REDACTED
        return atoms
