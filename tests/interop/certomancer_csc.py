"""Runs certomancer-csc-dummy, the CSC API v1.0.4 test server of pyHanko's own tests, over a
test PKI generated here: a root and two signers, `vanthu-test/signer-rsa` (RSA 2048) and
`vanthu-test/signer-ec` (P-256), as CSC credentials.

Usage: python certomancer_csc.py WORKDIR PORT

Keys and the Certomancer configuration are written into WORKDIR; the server then answers on
http://localhost:PORT/csc/v1/... until it is killed, logging each request on stderr (the
tests count the calls). Hashes must be pinned (SCAL 2).
"""
import logging
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from csc_dummy.runner import run_from_file

VALIDITY = """
        validity:
          valid-from: "2020-01-01T00:00:00+0000"
          valid-to: "2100-01-01T00:00:00+0000\""""

CONFIG = """
external-url-prefix: "http://localhost:{port}"
keysets:
  vanthu-test:
    path-prefix: {keys}
    keys:
      root:
        path: root.key.pem
      signer-rsa:
        path: signer-rsa.key.pem
      signer-ec:
        path: signer-ec.key.pem
pki-architectures:
  vanthu-test:
    keyset: vanthu-test
    entity-defaults:
      country-name: VN
      organization-name: Nhà cung cấp thử nghiệm
    entities:
      root:
        common-name: CSC Test Root
      signer-rsa:
        common-name: Nguyễn Văn Ký RSA
      signer-ec:
        common-name: Nguyễn Văn Ký EC
    certs:
      root:
        subject: root
        issuer: root{validity}
        extensions:
          - id: basic_constraints
            critical: true
            value:
              ca: true
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, key_cert_sign, crl_sign]
      signer-rsa:
        subject: signer-rsa
        issuer: root{validity}
        extensions:
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, non_repudiation]
      signer-ec:
        subject: signer-ec
        issuer: root{validity}
        extensions:
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, non_repudiation]
"""


def write_key(path, key):
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    work, port = Path(sys.argv[1]), int(sys.argv[2])
    keys = work / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    write_key(keys / "root.key.pem", rsa.generate_private_key(65537, 2048))
    write_key(keys / "signer-rsa.key.pem", rsa.generate_private_key(65537, 2048))
    write_key(keys / "signer-ec.key.pem", ec.generate_private_key(ec.SECP256R1()))
    config = work / "certomancer.yml"
    config.write_text(CONFIG.format(port=port, keys=keys, validity=VALIDITY), encoding="utf-8")
    run_from_file(str(config), port=port, require_hash_pinning=True)


if __name__ == "__main__":
    main()
