"""Helpers shared by the corpus scripts: a small PDF writer, pyHanko signing with the
development PKI, and pyHanko's verdict on a file.

The writer produces whole files and incremental updates byte by byte, so a test can say exactly
what a revision contains: the objects given, then one cross-reference section of the kind asked
for (a classic table, an uncompressed xref stream, or an empty section), with /Prev chaining.

pyhanko_verdict() maps pyHanko's status fields to vanthu's verdict words: a signature that is
not intact or not valid is "invalid"; intact but with docmdp_ok false (changes beyond what is
allowed) is "modified"; intact but not trusted is "untrusted"; no signature is "unsigned"; a
file pyHanko cannot read is "unreadable". The worst signature decides the file.
"""

import asyncio
import io
import logging
import os
import re

from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import (
    _dss_to_local_knowledge,
    ades_basic_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import LEGACY_POLICY_MAP, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

# pyHanko logs every failed validation at length; the verdicts are what matter here.
logging.disable(logging.CRITICAL)

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
XREF_KINDS = ("table", "stream", "empty")


def stream_object(entries, data):
    """The body of a stream object: `entries` (the dictionary's inside, without << >>) plus
    the /Length of `data`."""
    head = b"<< " + (entries + b" " if entries else b"") + b"/Length %d >>" % len(data)
    return head + b"\nstream\n" + data + b"\nendstream"


def serialise(obj):
    """pyHanko's serialisation of a PDF object (references stay references)."""
    out = io.BytesIO()
    obj.write_to_stream(out, None)
    return out.getvalue()


def last_startxref(data):
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def _runs(numbers):
    """Consecutive runs of sorted object numbers, as (first, count)."""
    runs = []
    for n in sorted(numbers):
        if runs and runs[-1][0] + runs[-1][1] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    return runs


def write_revision(data, objects, trailer, xref="table", prev=None, size=1):
    """Appends one revision to `data`: `objects` ({number: body bytes}, generation 0, written
    in the order given), then a cross-reference section of kind `xref`, then the trailer.

    `trailer` maps keys (without the slash) to raw values, e.g. {"Root": b"1 0 R"}; /Size
    (at least `size`) and /Prev (when `prev` is given) are added here. A whole file starts
    from HEADER with prev=None; its section also lists object 0, the head of the free list.

    xref kinds: "table" (classic; an update's table also lists object 0, so it is never
    empty), "stream" (an uncompressed /Type /XRef stream, /W [1 4 2], listing itself),
    "empty" (a table with one subsection of no entries, "0 0"; only for updates without
    objects).
    """
    if xref not in XREF_KINDS:
        raise ValueError(xref)
    if xref == "empty" and objects:
        raise ValueError("an empty cross-reference section cannot list objects")
    out = io.BytesIO()
    out.write(data)
    if not data.endswith(b"\n"):
        out.write(b"\n")
    offsets = {}
    for num, body in objects.items():
        offsets[num] = out.tell()
        out.write(b"%d 0 obj\n" % num + body + b"\nendobj\n")
    size = max([size] + [n + 1 for n in objects])
    listed = dict(offsets)
    if prev is None or xref == "table":
        listed[0] = None
    if xref == "stream":
        listed[size] = out.tell()
        size += 1
    entries = b"".join(b"/%s %s " % (k.encode(), v) for k, v in trailer.items())
    entries += b"/Size %d" % size
    if prev is not None:
        entries += b" /Prev %d" % prev
    section = out.tell()
    runs = _runs(listed) if xref != "empty" else [(0, 0)]
    if xref == "stream":
        rows = b""
        for first, count in runs:
            for n in range(first, first + count):
                if listed[n] is None:
                    rows += b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(2, "big")
                else:
                    rows += b"\x01" + listed[n].to_bytes(4, "big") + b"\x00\x00"
        index = b" ".join(b"%d %d" % (f, c) for f, c in runs)
        body = stream_object(b"/Type /XRef /W [1 4 2] /Index [%s] " % index + entries, rows)
        out.write(b"%d 0 obj\n" % (size - 1) + body + b"\nendobj\n")
    else:
        out.write(b"xref\n")
        for first, count in runs:
            out.write(b"%d %d\n" % (first, count))
            for n in range(first, first + count):
                if listed[n] is None:
                    out.write(b"0000000000 65535 f \n")
                else:
                    out.write(b"%010d 00000 n \n" % listed[n])
        out.write(b"trailer\n<< " + entries + b" >>\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % section)
    return out.getvalue()


def write_pdf(objects, root=1, xref="table", info=None):
    """A whole one-revision file from {number: body}; the catalog is object `root`."""
    trailer = {"Root": b"%d 0 R" % root}
    if info is not None:
        trailer["Info"] = b"%d 0 R" % info
    return write_revision(HEADER, objects, trailer, xref)


class Update:
    """An incremental update of `data` being written by hand: reads the current revision with
    pyHanko, hands out new object numbers, and carries the trailer's /Root, /Info and /ID over
    unless told otherwise."""

    def __init__(self, data):
        self.data = data
        self.reader = PdfFileReader(io.BytesIO(data), strict=False)
        self.size = int(self.reader.trailer["/Size"])
        self.objects = {}
        self.trailer = {
            key[1:]: serialise(self.reader.trailer.raw_get(key))
            for key in ("/Root", "/Info", "/ID")
            if key in self.reader.trailer
        }

    def get(self, num):
        """The current version of object `num`."""
        return self.reader.get_object(generic.Reference(num, 0, self.reader))

    def new_number(self):
        self.size += 1
        return self.size - 1

    def put(self, num, body):
        self.objects[num] = body if isinstance(body, bytes) else serialise(body)
        return num

    def add(self, body):
        return self.put(self.new_number(), body)

    def write(self, xref):
        return write_revision(
            self.data, self.objects, self.trailer, xref, last_startxref(self.data), self.size
        )


def signer_from(key, crt, chain=()):
    """A pyHanko signer from PEM key and certificate files, sending the `chain` files."""
    return signers.SimpleSigner.load(key, crt, ca_chain_files=chain)


def dev_signer(certs, name):
    """A pyHanko signer for certs-dev/NAME.key and NAME.pem, sending the issuing CA."""
    return signer_from(
        os.path.join(certs, name + ".key"),
        os.path.join(certs, name + ".pem"),
        (os.path.join(certs, "issuing-ca.pem"),),
    )


def dev_timestamper(certs):
    """An in-process time-stamping authority with the development TSA certificate (it chains
    to the development root through the issuing CA, which it embeds)."""
    return DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(os.path.join(certs, "tsa.pem")),
        tsa_key=load_private_key_from_pemder(os.path.join(certs, "tsa.key"), passphrase=None),
        certs_to_embed=[load_cert_from_pemder(os.path.join(certs, "issuing-ca.pem"))],
    )


def sign(data, field, signer, timestamper=None, field_spec=None, **meta_options):
    """Signs `data` (PAdES subfilter) in a new incremental update with pyHanko."""
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=SigSeedSubFilter.PADES, **meta_options
    )
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    out = signers.sign_pdf(
        w, meta, signer=signer, timestamper=timestamper, new_field_spec=field_spec
    )
    return out.getvalue()


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


def pyhanko_verdict(path, root_pem, oracles=False):
    """pyHanko's verdict on the file at `path`, trusting only `root_pem`, with one entry per
    signature (see the module docstring for the mapping). With `oracles`, validation uses the
    file's DSS as pyHanko's revocation source (fetching nothing, soft-fail for the verdict),
    and each signature also gets:
    - revocation: pyHanko's hard-fail judgement from the file alone: "good" (trusted),
      "revoked", "unknown" (trusted under soft-fail only: the file lacks the data), or
      "not_checked" (no valid path to check along); only for intact signatures.
    - indication, sub_indication: pyHanko's ETSI EN 319 102-1 indication, from its AdES
      validation of the CMS signature (§5.3, or §5.5 with a signature time-stamp); PDF changes
      are not part of it (docmdp_ok is).
    - level: the PAdES baseline level established with pyHanko's facilities (pyHanko 0.38 has
      no level classifier): B-B for an intact ETSI.CAdES.detached signature with
      signing-certificate-v2 and no signing-time; B-T with a trusted signature time-stamp or a
      later trusted document time-stamp; B-LT when the signature (and its time-stamp) is
      trusted under hard-fail from the file's DSS alone; B-LTA when a later trusted document
      time-stamp also covers a revision holding the DSS."""
    root = load_cert_from_pemder(root_pem)
    try:
        with open(path, "rb") as f:
            r = PdfFileReader(f, strict=False)
            sigs = r.embedded_signatures
            if not sigs:
                return {"verdict": "unsigned", "signatures": []}
            if oracles:
                vc, has_dss = contexts(r, root)
            else:
                def vc(_mode):
                    return ValidationContext(trust_roots=[root], allow_fetching=False)
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
                entry = {
                    "field": s.field_name,
                    "intact": intact,
                    "trusted": bool(st.trusted),
                    "modification": mod.name if mod is not None else None,
                    "docmdp_ok": docmdp_ok is not False,
                    "timestamp": ts_ok is not None,
                    "bottom_line": bool(getattr(st, "bottom_line", intact and st.trusted)),
                }
                if oracles:
                    indication, sub_indication = (
                        (None, None) if timestamp else ades_of(s, r, root, ts_ok is not None)
                    )
                    entry.update({
                        "revocation": revocation_of(s, st, vc) if intact else None,
                        "indication": indication,
                        "sub_indication": sub_indication,
                        "level": None if timestamp else level_of(s, st, r, vc, has_dss),
                    })
                details.append(entry)
            return {"verdict": worst, "signatures": details}
    except Exception as e:  # pyHanko could not read the file at all
        return {"verdict": "unreadable", "error": f"{type(e).__name__}: {e}", "signatures": []}
