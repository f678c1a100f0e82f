"""Builds the verifier corpus with pyHanko and records pyHanko's own verdict on each file.

Usage: python verify_corpus.py CERTS_DIR OUT_DIR
       python verify_corpus.py --judge CERTS_DIR FILE...   (pyHanko's verdicts as JSON on stdout)

Writes OUT_DIR/<case>.pdf (or .bin) and OUT_DIR/expected.json:
{"<case>": {"file": "...", "verdict": "valid|invalid|modified|untrusted|unsigned|unreadable",
            "signatures": [{"field", "intact", "trusted", "modification", "docmdp_ok",
                            "timestamp", "revocation", "indication", "sub_indication",
                            "level"}]}}

Verdicts and the per-signature oracles (revocation, ETSI indication, PAdES level) come from
corpus_common.pyhanko_verdict(..., oracles=True); its docstring says how each is established.
"""

import io
import json
import os
import subprocess
import sys
import tempfile

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import (
    FieldMDPAction,
    FieldMDPSpec,
    MDPPerm,
    SigFieldSpec,
)
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from asn1crypto import crl as asn1_crl

from corpus_common import (
    Update,
    dev_signer,
    dev_timestamper,
    pyhanko_verdict,
    sign,
    signer_from,
    stream_object,
    write_pdf,
)

JUDGE = sys.argv[1] == "--judge"
CERTS = sys.argv[2] if JUDGE else sys.argv[1]
OUT = None if JUDGE else sys.argv[2]

def cert(name):
    return os.path.join(CERTS, name)


def page_content(text):
    return stream_object(b"", f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode())


def base_pdf(text="Van ban mau", with_field=False):
    """A one-page PDF with a classic xref table; object 4 is the page content stream. With
    `with_field`, object 7 is a text field (the document number a clerk fills in later)."""
    form = b" /AcroForm 6 0 R" if with_field else b""
    annots = b" /Annots [7 0 R]" if with_field else b""
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R" + form + b" >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >>" + annots + b" >>",
        4: page_content(text),
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    if with_field:
        objs[6] = b"<< /Fields [7 0 R] /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>"
        objs[7] = (
            b"<< /FT /Tx /T (SoKyHieu) /Type /Annot /Subtype /Widget /Rect [72 600 300 630] "
            b"/P 3 0 R /F 4 /DA (/F1 12 Tf 0 g) >>"
        )
    return write_pdf(objs)


def replace_page_content(data, text):
    """An incremental update (classic xref) that overrides object 4, the page content."""
    update = Update(data)
    update.put(4, page_content(text))
    return update.write("table")


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


def with_dss(data, certs, crls):
    """An incremental update adding a DSS with exactly these certificates and CRLs."""
    out = io.BytesIO(data)
    DocumentSecurityStore.add_dss(out, None, certs=certs, crls=crls)
    return out.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    rsa = dev_signer(CERTS, "signer-rsa")
    ec = dev_signer(CERTS, "signer-ec")
    seal = dev_signer(CERTS, "seal")
    tsa = dev_timestamper(CERTS)
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
    revoked = dev_signer(CERTS, "revoked")
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
        entry = pyhanko_verdict(path, cert("root-ca.pem"), oracles=True)
        entry["file"] = fname
        expected[name] = entry
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)


if __name__ == "__main__":
    if JUDGE:
        root = cert("root-ca.pem")
        print(json.dumps({path: pyhanko_verdict(path, root, oracles=True) for path in sys.argv[3:]}))
    else:
        main()
