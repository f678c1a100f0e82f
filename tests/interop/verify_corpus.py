"""Builds the verifier corpus with pyHanko and records pyHanko's own verdict on each file.

Usage: python verify_corpus.py CERTS_DIR OUT_DIR
       python verify_corpus.py --judge CERTS_DIR FILE...   (pyHanko's verdicts as JSON on stdout)

Writes OUT_DIR/<case>.pdf (or .bin) and OUT_DIR/expected.json:
{"<case>": {"file": "...", "verdict": "valid|invalid|modified|untrusted|unsigned|unreadable",
            "signatures": [{"field", "intact", "trusted", "modification", "docmdp_ok",
                            "timestamp", "revocation", "indication", "sub_indication",
                            "level"}]}}

Verdicts follow pyHanko's status fields: a signature that is not intact or not valid is
"invalid"; intact but with docmdp_ok false (changes beyond what is allowed) is "modified";
intact but not trusted is "untrusted"; no signature is "unsigned"; a file pyHanko cannot read
is "unreadable". The worst signature decides the file. Like `vanthu verify --offline`,
pyHanko uses the revocation data in the file (its DSS) and fetches nothing; missing data is
soft-fail for the verdict.

Per signature, beyond the verdict (null where pyHanko gives no answer):
- revocation: pyHanko's hard-fail judgement from the file alone: "good" (trusted), "revoked",
  "unknown" (trusted under soft-fail only: the file lacks the data), or "not_checked" (no
  valid path to check along); only for intact signatures.
- indication, sub_indication: pyHanko's ETSI EN 319 102-1 indication, from its AdES
  validation of the CMS signature (§5.3, or §5.5 with a signature time-stamp); PDF changes
  are not part of it (docmdp_ok is).
- level: the PAdES baseline level established with pyHanko's facilities (pyHanko 0.38 has
  no level classifier): B-B for an intact ETSI.CAdES.detached signature with
  signing-certificate-v2 and no signing-time; B-T with a trusted signature time-stamp or a
  later trusted document time-stamp; B-LT when the signature (and its time-stamp) is trusted
  under hard-fail from the file's DSS alone; B-LTA when a later trusted document time-stamp
  also covers a revision holding the DSS.
"""

import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import (
    FieldMDPAction,
    FieldMDPSpec,
    MDPPerm,
    SigFieldSpec,
    SigSeedSubFilter,
)
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import (
    _dss_to_local_knowledge,
    ades_basic_validation,
    ades_with_time_validation,
)
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import LEGACY_POLICY_MAP, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from asn1crypto import crl as asn1_crl

# pyHanko logs every failed validation at length; the verdicts are what matter here.
logging.disable(logging.CRITICAL)

JUDGE = sys.argv[1] == "--judge"
CERTS = sys.argv[2] if JUDGE else sys.argv[1]
OUT = None if JUDGE else sys.argv[2]

def cert(name):
    return os.path.join(CERTS, name)


def base_pdf(text="Van ban mau", with_field=False):
    """A one-page PDF with a classic xref table; object 4 is the page content stream. With
    `with_field`, object 7 is a text field (the document number a clerk fills in later)."""
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    form = b" /AcroForm 6 0 R" if with_field else b""
    annots = b" /Annots [7 0 R]" if with_field else b""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R" + form + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >>" + annots + b" >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if with_field:
        objs += [
            b"<< /Fields [7 0 R] /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>",
            b"<< /FT /Tx /T (SoKyHieu) /Type /Annot /Subtype /Widget /Rect [72 600 300 630] "
            b"/P 3 0 R /F 4 /DA (/F1 12 Tf 0 g) >>",
        ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def signer_from(key, crt, chain=()):
    return signers.SimpleSigner.load(key, crt, ca_chain_files=chain)


def sign(data, field, signer, timestamper=None, field_spec=None, **meta_options):
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=SigSeedSubFilter.PADES, **meta_options
    )
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    out = signers.sign_pdf(
        w, meta, signer=signer, timestamper=timestamper, new_field_spec=field_spec
    )
    return out.getvalue()


def replace_page_content(data, text):
    """An incremental update (classic xref) that overrides object 4, the page content."""
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    out = io.BytesIO()
    out.write(data)
    if not data.endswith(b"\n"):
        out.write(b"\n")
    off = out.tell()
    out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 1\n0000000000 65535 f \n4 1\n%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, prev, xref))
    return out.getvalue()


def fill_field(data, value):
    """The clerk's update: sets the text field's value with pyHanko's incremental writer."""
    from pyhanko.pdf_utils import generic

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    fields = w.root["/AcroForm"]["/Fields"]
    field_ref = fields.raw_get(0)
    field = field_ref.get_object()
    field["/V"] = generic.pdf_string(value)
    w.update_container(field)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def expired_signer(tmp):
    """A signer certificate from the development issuing CA that expired a year ago."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
    from cryptography.x509.oid import NameOID

    with open(cert("issuing-ca.pem"), "rb") as f:
        issuer = x509.load_pem_x509_certificate(f.read())
    with open(cert("issuing-ca.key"), "rb") as f:
        issuer_key = serialization.load_pem_private_key(f.read(), password=None)
    key = rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    crt = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hết hạn")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=730))
        .not_valid_after(now - datetime.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    key_path, crt_path = os.path.join(tmp, "expired.key"), os.path.join(tmp, "expired.pem")
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    with open(crt_path, "wb") as f:
        f.write(crt.public_bytes(serialization.Encoding.PEM))
    return signer_from(key_path, crt_path, (cert("issuing-ca.pem"),))


def add_annotation(data):
    """A reader's note: a /Text annotation added to page 1 in an incremental update."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import NameObject as N

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page = w.root["/Pages"]["/Kids"][0].get_object()
    rect = generic.ArrayObject([generic.NumberObject(x) for x in (10, 10, 30, 30)])
    annot = generic.DictionaryObject({
        N("/Type"): N("/Annot"), N("/Subtype"): N("/Text"), N("/Rect"): rect,
        N("/Contents"): generic.TextStringObject("ghi chú"),
    })
    ref = w.add_object(annot)
    annots = page.get("/Annots")
    if annots is None:
        page["/Annots"] = generic.ArrayObject([ref])
    else:
        annots.get_object().append(ref)
        if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
            w.update_container(annots.get_object())
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def self_signed(tmp):
    key, crt = os.path.join(tmp, "self.key"), os.path.join(tmp, "self.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
         "-days", "365", "-subj", "/C=VN/O=Tu cap/CN=Nguoi tu ky", "-addext",
         "keyUsage=critical,digitalSignature,nonRepudiation"],
        check=True, capture_output=True)
    return signer_from(key, crt)


def contexts(reader, root):
    """Validation contexts fed by the file's DSS (if any), fetching nothing, by revocation mode."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:
        dss = None

    def vc(mode):
        kwargs = {"trust_roots": [root], "allow_fetching": False, "revocation_mode": mode}
        if dss:
            return dss.as_validation_context(kwargs)
        # No revocation data at all (hard-fail refuses to start without a source).
        return ValidationContext(crls=[], ocsps=[], **kwargs)

    return vc, dss is not None


def validate(s, vc):
    if s.sig_object.get("/Type") == "/DocTimeStamp":
        return validate_pdf_timestamp(s, validation_context=vc)
    return validate_pdf_signature(s, signer_validation_context=vc, ts_validation_context=vc)


def revocation_of(s, soft, vc):
    """pyHanko's hard-fail revocation judgement, from the file alone."""
    hard = validate(s, vc("hard-fail"))
    if soft.revoked or hard.revoked:
        return "revoked"
    if not soft.trusted:
        return "not_checked"
    return "good" if hard.trusted else "unknown"


INDICATIONS = {
    AdESStatus.PASSED: "TOTAL-PASSED",
    AdESStatus.FAILED: "TOTAL-FAILED",
    AdESStatus.INDETERMINATE: "INDETERMINATE",
}


def ades_of(s, reader, root, timestamped):
    """pyHanko's ETSI indication for the CMS signature: basic validation (EN 319 102-1 §5.3),
    or validation with time (§5.5) when it carries a signature time-stamp."""
    spec = SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build([root]),
            revinfo_policy=CertRevTrustPolicy(LEGACY_POLICY_MAP["soft-fail"]),
        ),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
        local_knowledge=_dss_to_local_knowledge(reader),
    )
    process = ades_with_time_validation if timestamped else ades_basic_validation
    result = asyncio.run(process(s.signed_data, spec, raw_digest=s.compute_digest()))
    status = result.ades_subindic.status
    return INDICATIONS[status], (None if status == AdESStatus.PASSED else result.ades_subindic.name)


def level_of(s, soft, reader, vc, has_dss):
    """The PAdES baseline level, from pyHanko's judgements (see the module docstring)."""
    if not (soft.intact and soft.valid):
        return None
    names = {a["type"].native for a in s.signer_info["signed_attrs"]}
    if (
        s.sig_object.get("/SubFilter") != "/ETSI.CAdES.detached"
        or "signing_certificate_v2" not in names
        or "signing_time" in names
    ):
        return None
    ts = soft.timestamp_validity
    signature_ts = ts is not None and ts.intact and ts.valid and ts.trusted
    later = []
    for d in reader.embedded_timestamp_signatures:
        if d.signed_revision > s.signed_revision:
            st = validate_pdf_timestamp(d, validation_context=vc("soft-fail"))
            if st.intact and st.valid and st.trusted:
                later.append(d)
    if not (signature_ts or later):
        return "B-B"
    if not has_dss:
        return "B-T"
    hard = validate_pdf_signature(
        s, signer_validation_context=vc("hard-fail"), ts_validation_context=vc("hard-fail")
    )
    hard_ts = hard.timestamp_validity
    if not hard.trusted or (ts is not None and not (hard_ts and hard_ts.trusted)):
        return "B-T"
    covers_dss = any("/DSS" in reader.get_historical_root(d.signed_revision) for d in later)
    return "B-LTA" if covers_dss else "B-LT"


def pyhanko_verdict(path):
    root = load_cert_from_pemder(cert("root-ca.pem"))
    try:
        with open(path, "rb") as f:
            r = PdfFileReader(f, strict=False)
            sigs = r.embedded_signatures
            if not sigs:
                return {"verdict": "unsigned", "signatures": []}
            vc, has_dss = contexts(r, root)
            worst, details = "valid", []
            rank = ["valid", "untrusted", "modified", "invalid"]
            for s in sigs:
                timestamp = s.sig_object.get("/Type") == "/DocTimeStamp"
                st = validate(s, vc("soft-fail"))
                ts_ok = getattr(st, "timestamp_validity", None)
                intact = bool(st.intact and st.valid)
                mod = getattr(st, "modification_level", None)
                docmdp_ok = getattr(st, "docmdp_ok", True)
                if not intact:
                    v = "invalid"
                elif docmdp_ok is False:
                    v = "modified"
                elif not st.trusted or (ts_ok is not None and not ts_ok.trusted):
                    v = "untrusted"
                else:
                    v = "valid"
                if rank.index(v) > rank.index(worst):
                    worst = v
                indication, sub_indication = (
                    (None, None) if timestamp else ades_of(s, r, root, ts_ok is not None)
                )
                details.append({
                    "field": s.field_name,
                    "intact": intact,
                    "trusted": bool(st.trusted),
                    "modification": mod.name if mod is not None else None,
                    "docmdp_ok": docmdp_ok is not False,
                    "timestamp": ts_ok is not None,
                    "bottom_line": bool(getattr(st, "bottom_line", intact and st.trusted)),
                    "revocation": revocation_of(s, st, vc) if intact else None,
                    "indication": indication,
                    "sub_indication": sub_indication,
                    "level": None if timestamp else level_of(s, st, r, vc, has_dss),
                })
            return {"verdict": worst, "signatures": details}
    except Exception as e:  # pyHanko could not read the file at all
        return {"verdict": "unreadable", "error": f"{type(e).__name__}: {e}", "signatures": []}


def with_dss(data, certs, crls):
    """An incremental update adding a DSS with exactly these certificates and CRLs."""
    out = io.BytesIO(data)
    DocumentSecurityStore.add_dss(out, None, certs=certs, crls=crls)
    return out.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    chain = (cert("issuing-ca.pem"),)
    rsa = signer_from(cert("signer-rsa.key"), cert("signer-rsa.pem"), chain)
    ec = signer_from(cert("signer-ec.key"), cert("signer-ec.pem"), chain)
    seal = signer_from(cert("seal.key"), cert("seal.pem"), chain)
    tsa = DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(cert("tsa.pem")),
        tsa_key=load_private_key_from_pemder(cert("tsa.key"), passphrase=None),
        certs_to_embed=[load_cert_from_pemder(cert("issuing-ca.pem"))],
    )
    base = base_pdf()
    cases = {}
    bb = sign(base, "Signature1", rsa)
    cases["valid_bb"] = bb
    cases["valid_bt"] = sign(base, "Signature1", ec, timestamper=tsa)
    cases["serial"] = sign(sign(base, "ChuKyLanhDao", rsa), "ChuKyConDau", seal)
    cases["certified_serial"] = sign(
        sign(base, "ChuKyLanhDao", rsa, certify=True), "ChuKyConDau", seal
    )
    # A note added after an approval signature, and a visible signature field added after a
    # certification: pyHanko's policy admits neither.
    cases["annotation_added"] = add_annotation(bb)
    cases["visible_after_certify"] = sign(
        sign(base, "ChuKyLanhDao", rsa, certify=True), "ChuKyConDau", seal,
        field_spec=SigFieldSpec("ChuKyConDau", on_page=0, box=(300, 100, 420, 160)),
    )
    # The official certifies (DocMDP P=2), then the clerk fills in the document number.
    form = base_pdf(with_field=True)
    cases["certified_form_filled"] = fill_field(
        sign(form, "ChuKyLanhDao", rsa, certify=True), "123/QD-UBND"
    )
    # Certified with no changes allowed (P=1): the same filling breaks the lock.
    cases["locked_form_filled"] = fill_field(
        sign(form, "ChuKyLanhDao", rsa, certify=True, docmdp_permissions=MDPPerm.NO_CHANGES),
        "123/QD-UBND",
    )
    # An approval signature whose FieldMDP lock covers the document number: filling it breaks
    # the lock.
    lock = FieldMDPSpec(FieldMDPAction.INCLUDE, fields=["SoKyHieu"])
    cases["field_locked_filled"] = fill_field(
        sign(form, "ChuKyLanhDao", rsa, field_spec=SigFieldSpec("ChuKyLanhDao", field_mdp_spec=lock)),
        "123/QD-UBND",
    )
    # B-LTA: revocation data from the development CRLs (no network), then a document time-stamp.
    crls = []
    for name in ("issuing-ca.crl", "root-ca.crl"):
        with open(cert(name), "rb") as f:
            crls.append(asn1_crl.CertificateList.load(f.read()))
    lta_context = ValidationContext(
        trust_roots=[load_cert_from_pemder(cert("root-ca.pem"))], crls=crls, allow_fetching=False
    )
    cases["lta"] = sign(
        base, "Signature1", rsa, timestamper=tsa, embed_validation_info=True,
        use_pades_lta=True, validation_context=lta_context,
    )
    # B-LT: the same validation data, no document time-stamp over it.
    cases["lt"] = sign(
        base, "Signature1", rsa, timestamper=tsa, embed_validation_info=True,
        validation_context=lta_context,
    )
    # The same DSS (the development CRLs, which list revoked.pem) after a signature by a
    # certificate it leaves good and by one it revokes.
    issuing = load_cert_from_pemder(cert("issuing-ca.pem"))
    cases["good_with_dss"] = with_dss(sign(base, "Signature1", rsa), [issuing], crls)
    revoked = signer_from(cert("revoked.key"), cert("revoked.pem"), chain)
    cases["revoked_signer"] = with_dss(sign(base, "Signature1", revoked), [issuing], crls)
    tampered = bytearray(bb)
    at = bb.index(b"Van ban mau")
    tampered[at] = ord("X")
    cases["byte_changed"] = bytes(tampered)
    cases["content_replaced"] = replace_page_content(bb, "Van ban DA SUA")
    with tempfile.TemporaryDirectory() as tmp:
        cases["self_signed"] = sign(base, "Signature1", self_signed(tmp))
        cases["expired_signer"] = sign(base, "Signature1", expired_signer(tmp))
        # A time-stamp from an authority outside the trust anchors.
        rogue_key, rogue_crt = os.path.join(tmp, "tsa.key"), os.path.join(tmp, "tsa.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", rogue_key,
             "-out", rogue_crt, "-days", "365", "-subj", "/CN=Rogue TSA", "-addext",
             "extendedKeyUsage=critical,timeStamping"],
            check=True, capture_output=True)
        rogue = DummyTimeStamper(
            tsa_cert=load_cert_from_pemder(rogue_crt),
            tsa_key=load_private_key_from_pemder(rogue_key, passphrase=None),
        )
        cases["untrusted_tsa"] = sign(base, "Signature1", rsa, timestamper=rogue)
    cases["unsigned"] = base
    cases["truncated"] = bb[: len(bb) // 2]
    cases["not_pdf"] = b"This is a plain text memo, not a PDF.\n" * 20

    expected = {}
    for name, data in cases.items():
        fname = name + (".bin" if name == "not_pdf" else ".pdf")
        path = os.path.join(OUT, fname)
        with open(path, "wb") as f:
            f.write(data)
        entry = pyhanko_verdict(path)
        entry["file"] = fname
        expected[name] = entry
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)


if __name__ == "__main__":
    if JUDGE:
        print(json.dumps({path: pyhanko_verdict(path) for path in sys.argv[3:]}))
    else:
        main()
