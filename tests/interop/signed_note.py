"""Checks a C2SP signed note (tlog-checkpoint) with a sumdb/note verifier key, written here
from the C2SP signed-note specification with Python's hashlib and the `cryptography`
package's Ed25519, apart from vanthu's own code.

Usage: python signed_note.py NOTE_FILE KEY_FILE

Prints JSON: {"verified": bool, "origin", "size", "root" (base64), "key_name",
"key_id" (hex), "public_key" (hex), "signatures" (how many lines name this key)}.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_key(text):
    # name+keyid+base64(0x01 || 32-byte public key); the base64 may hold '+' itself.
    name, key_id, key = text.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    assert raw[0] == 0x01 and len(raw) == 33, "not an Ed25519 verifier key"
    public = raw[1:]
    expected = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    assert expected.hex() == key_id, "the key id does not belong to the key"
    return name, expected, public


def main():
    note = open(sys.argv[1], encoding="utf-8").read()
    name, key_id, public = parse_key(open(sys.argv[2], encoding="utf-8").read())
    split = note.rindex("\n\n")
    text, signatures = note[: split + 1], note[split + 2 :]
    assert signatures.endswith("\n"), "the note does not end with a newline"
    verifier = Ed25519PublicKey.from_public_bytes(public)
    verified, counted = False, 0
    for line in signatures[:-1].split("\n"):
        assert line.startswith("\u2014 "), f"bad signature line {line!r}"
        line_name, blob = line[2:].split(" ", 1)
        blob = base64.b64decode(blob, validate=True)
        if line_name != name or blob[:4] != key_id:
            continue
        counted += 1
        try:
            verifier.verify(blob[4:], text.encode("utf-8"))
            verified = True
        except InvalidSignature:
            verified = False
            break
    body = text.split("\n")
    print(
        json.dumps(
            {
                "verified": verified,
                "origin": body[0],
                "size": int(body[1]),
                "root": body[2],
                "key_name": name,
                "key_id": key_id.hex(),
                "public_key": public.hex(),
                "signatures": counted,
            }
        )
    )


if __name__ == "__main__":
    main()
