"""Validates every signature of a PDF with pyHanko and prints one JSON document.

Usage: python pyhanko_report.py FILE.pdf ROOT.pem

For each signature: bottom_line, intact, valid, trusted, coverage, modification_level,
docmdp_ok, timestamp_ok (signature time-stamp), and ltv: whether the signature and its
time-stamp validate with hard-fail revocation checking from the file's /DSS alone (no
fetching). Document time-stamps are listed separately: valid (intact maths), trusted, and
ltv, whether the time-stamp is trusted under the same hard-fail, DSS-only context.
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext


def dss_context(reader, root):
    """A hard-fail validation context fed only by the document's DSS, or None without one."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:
        return None
    return dss.as_validation_context(
        {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"}
    )


def ltv_ok(check):
    try:
        return bool(check())
    except Exception as e:  # insufficient validation data surfaces as an exception
        return "error: %s" % e


def main():
    path, root_path = sys.argv[1], sys.argv[2]
    root = load_cert_from_pemder(root_path)
    out = {"signatures": [], "timestamps": []}
    with open(path, "rb") as f:
        r = PdfFileReader(f)
        ltv_vc = dss_context(r, root)
        for sig in r.embedded_regular_signatures:
            vc = ValidationContext(trust_roots=[root], allow_fetching=False)
            st = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)
            ts = st.timestamp_validity
            out["signatures"].append(
                {
                    "field": sig.field_name,
                    "bottom_line": bool(st.bottom_line),
                    "intact": bool(st.intact),
                    "valid": bool(st.valid),
                    "trusted": bool(st.trusted),
                    "coverage": st.coverage.name if st.coverage else None,
                    "modification_level": st.modification_level.name if st.modification_level else None,
                    "docmdp_ok": st.docmdp_ok,
                    "timestamp_ok": (bool(ts.valid and ts.intact and ts.trusted) if ts else None),
                    "ltv": (
                        ltv_ok(
                            lambda: validate_pdf_signature(
                                sig, signer_validation_context=ltv_vc, ts_validation_context=ltv_vc
                            ).bottom_line
                        )
                        if ltv_vc
                        else False
                    ),
                }
            )
        for sig in r.embedded_timestamp_signatures:
            vc = ValidationContext(trust_roots=[root], allow_fetching=False)
            st = validate_pdf_timestamp(sig, validation_context=vc)
            out["timestamps"].append(
                {
                    "field": sig.field_name,
                    "valid": bool(st.valid and st.intact),
                    "trusted": bool(st.trusted),
                    "coverage": st.coverage.name if st.coverage else None,
                    "modification_level": st.modification_level.name if st.modification_level else None,
                    # Trusted, not merely valid: the TSA's chain and revocation must be
                    # complete from the file alone (.valid only checks the maths).
                    "ltv": (
                        ltv_ok(lambda: validate_pdf_timestamp(sig, validation_context=ltv_vc).trusted)
                        if ltv_vc
                        else False
                    ),
                }
            )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
