"""Signs a PDF through a CSC API v1.0.4 service with pyHanko's own CSC client
(pyhanko.sign.signers.csc_signer), as a third-party signing tool would use vanthu's
/csc/v1/: sign in with HTTP Basic at auth/login, take the first credential of
credentials/list, read its certificates with credentials/info, and approve the signature
with credentials/authorize, sending the PIN and the one-time code with the hash to sign.

Usage: python csc_client.py BASE_URL USERNAME PASSWORD_VAR PIN_VAR OTP_VAR IN.pdf OUT.pdf

The PIN, the code and the password come from the environment variables named by those
arguments, never the command line. Prints JSON: {"signed": true, "credential": ID} once
OUT.pdf is written, or {"signed": false, "error": ...} when the service refused (exit 0 in
both cases; only a broken script exits otherwise).
"""
import asyncio
import json
import os
import sys

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)


class PinAndCode(CSCAuthorizationManager):
    """Explicit authorization: the signing PIN and the authenticator code, sent along with
    the hashes, so the SAD is bound to them (SCAL 2)."""

    def __init__(self, session_info, credential_info, http, pin, otp):
        super().__init__(session_info, credential_info)
        self.http = http
        self.pin = pin
        self.otp = otp
        # pyHanko logs a failed commit and reports only that no signature came back: the
        # service's answer is kept here for the caller.
        self.refusal = None

    async def authorize_signature(self, hash_b64s) -> CSCAuthorizationInfo:
        request = self.format_csc_auth_request(
            pin=self.pin,
            otp=self.otp,
            hash_b64s=hash_b64s,
            description="pyHanko interop test",
        )
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.http.post(
            url, headers=self.auth_headers, json=request
        ) as response:
            body = await response.json()
            if response.status != 200:
                self.refusal = {"status": response.status, **body}
                raise SigningError(f"authorize refused ({response.status}): {body}")
        return self.parse_csc_auth_response(body)


async def sign(base, username, password, pin, otp, source, target):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/csc/v1/auth/login",
            auth=aiohttp.BasicAuth(username, password),
            json={},
        ) as response:
            login = await response.json()
            if response.status != 200:
                return {"signed": False, "error": f"auth/login: {login}"}
        token = login["access_token"]
        async with http.post(
            f"{base}/csc/v1/credentials/list",
            headers={"Authorization": f"Bearer {token}"},
            json={},
        ) as response:
            credentials = (await response.json())["credentialIDs"]
        if not credentials:
            return {"signed": False, "error": "no credential"}
        session_info = CSCServiceSessionInfo(
            service_url=base, credential_id=credentials[0], oauth_token=token
        )
        credential_info = await fetch_certs_in_csc_credential(http, session_info)
        authorization = PinAndCode(session_info, credential_info, http, pin, otp)
        signer = CSCSigner(http, authorization)
        with open(source, "rb") as inf:
            writer = IncrementalPdfFileWriter(inf)
            meta = signers.PdfSignatureMetadata(field_name="Signature1")
            try:
                output = await signers.PdfSigner(meta, signer).async_sign_pdf(writer)
            except SigningError as e:
                return {
                    "signed": False,
                    "error": str(e),
                    "refusal": authorization.refusal,
                }
        with open(target, "wb") as outf:
            outf.write(output.getbuffer())
        return {"signed": True, "credential": credentials[0]}


def main():
    base, username, password_var, pin_var, otp_var, source, target = sys.argv[1:8]
    result = asyncio.run(
        sign(
            base,
            username,
            os.environ[password_var],
            os.environ[pin_var],
            os.environ[otp_var],
            source,
            target,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
