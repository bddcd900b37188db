"""JSON responses built straight from the CLI's serialisers (one shape, one place: report.py).

The serialisers already return plain JSON values, so they are dumped as they are: FastAPI's
`jsonable_encoder` would walk every value of a 10,000-monitor list again.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_body(json_bytes(data), status_code, headers)


def json_body(body: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response of JSON already encoded (a shared answer, renders.py)."""
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def problem(status_code: int, message: str, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    """Every error the API returns: `{"error": "what is wrong and what to do", "status": 404}`."""
    return json_response({"error": message, "status": status_code, **extra}, status_code, headers)
