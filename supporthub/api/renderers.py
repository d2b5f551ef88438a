"""JSON rendering with orjson: a page of 50 tickets encodes several times faster."""

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# Datetimes go through DRF's encoder too, so they keep its format (a "Z" for UTC).
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_drf_default = JSONEncoder().default


class ORJSONRenderer(JSONRenderer):
    """DRF's compact JSON, the same bytes except how a few floats are spelled (1e16, not
    1e+16; the API sends no such floats). What orjson does not know natively (lazy strings,
    Decimals, datetimes) goes to DRF's own encoder. Like DRF, U+2028 and U+2029 are escaped
    (they end a line in JavaScript)."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        body = orjson.dumps(data, default=_drf_default, option=_OPTIONS)
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
