"""Schemathesis hooks for tests/api_openapi_fuzz.rs: file bodies are sent as raw bytes.

Schemathesis serialises application/octet-stream bodies itself; the media types vanthu
accepts for files (crates/api/src/media.rs) are sent the same way.

`ast.parse` is also made to run one thread at a time. Before 3.11.9 and 3.12.3, CPython
tracks the depth of the tree it builds per interpreter, not per thread (gh-106905). When
two of schemathesis's workers parse at once, for example when Hypothesis reads a filter
lambda's source to describe it, the run dies with "SystemError: AST constructor recursion
depth mismatch" before it reaches vanthu.
"""

import ast
import threading

import schemathesis

_parse = ast.parse
_parsing = threading.Lock()


def _parse_one_at_a_time(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time

schemathesis.serializer.alias(
    [
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "image/tiff",
    ],
    "application/octet-stream",
)
