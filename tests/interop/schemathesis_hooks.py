"""Schemathesis hooks for tests/api_openapi_fuzz.rs: file bodies are sent as raw bytes.

Schemathesis serialises application/octet-stream bodies itself; the media types vanthu
accepts for files (crates/api/src/media.rs) are sent the same way.
"""

import schemathesis

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
