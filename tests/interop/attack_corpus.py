"""Builds the incremental-update attack corpus of issue 11 and records pyHanko's verdict on
each file.

Usage: python attack_corpus.py CERTS_DIR OUT_DIR
       python attack_corpus.py --fixture CERTS_DIR FILE   (the P=2 base with xref streams
       alone: crates/pades/tests/fixtures/certified-p2-xref-stream.pdf, the diff fuzz target's
       certified base)

Bases: one document (corpus_common's writer) signed by pyHanko four ways: an approval
signature ("approval") and certification signatures with DocMDP P=1, P=2 and P=3 ("p1", "p2",
"p3"), each once with classic xref tables ("table") and once with xref streams ("stream"). The
document has a page with text in a Type 1 font, a text field nobody has filled yet, a stamp
annotation that is hidden, a layer (optional content) that is off, an XMP metadata stream, an
/Info dictionary, and, unused, a second catalog whose page tree shows other text (the
Hide-and-Replace payload, inside the signed revision). A second document, signed the same
ways, also paints an XObject that nothing defines yet.

Attacks are one hand-written revision each (objects and one cross-reference section of the same
kind as the base, or an empty section) appended to a signed base: the classes of issue 11, the
same trick through the trailer's /Info, and the undefined XObject defined (a Hide variant
pyHanko misses too). Every one changes what the page shows, so vanthu must say "modified",
except the widget overlay after P=3: P=3 permits annotations, so it stays "valid" (the report
must then warn that the page shows something the signer did not sign). Legal counterparts are
updates the signer's DocMDP level allows, made by pyHanko or by hand; vanthu must say "valid".

Writes OUT_DIR/<case>.pdf and OUT_DIR/expected.json:
{"<case>": {"file", "class", "variant", "kind": "attack|legal", "base", "xref",
            "expected": vanthu's verdict, "pyhanko": pyHanko's verdict (corpus_common's mapping),
            "pyhanko_signatures": [...], "signatures": signatures in the file,
            "revisions": revisions in the file, "why": present where pyHanko disagrees}}
"xref" is the kind of the section appended last: the base's own ("table" or "stream"), or
"empty" (after a base with tables).
"""

import hashlib
import io
import json
import os
import re
import sys

from asn1crypto import crl as asn1_crl
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import add_validation_info
from pyhanko_certvalidator import ValidationContext

from corpus_common import (
    Update,
    dev_signer,
    dev_timestamper,
    pyhanko_verdict,
    sign,
    stream_object,
    write_pdf,
)

BASES = ("approval", "p1", "p2", "p3")
PERMISSION = {"p1": MDPPerm.NO_CHANGES, "p2": MDPPerm.FILL_FORMS, "p3": MDPPerm.ANNOTATE}
FIELD = "ChuKyLanhDao"

SIGNED_TEXT = b"Quyet dinh 12/QD-UBND: cap 10 trieu dong"
FORGED_TEXT = b"Quyet dinh 12/QD-UBND: cap 900 trieu dong"


def page_text(line, signed_page=True, undefined_xobject=False):
    """A page's content: a heading and `line`. The signed page also has a line in layer /OC1
    (off when signed); with `undefined_xobject` it paints XObject /X1 too."""
    text = (
        b"BT /F1 16 Tf 72 770 Td (UY BAN NHAN DAN HUYEN DEMO) Tj ET\n"
        b"BT /F1 14 Tf 72 720 Td (" + line + b") Tj ET\n"
    )
    if signed_page:
        text += b"/OC /OC1 BDC BT /F1 14 Tf 72 690 Td (Cap them 900 trieu dong) Tj ET EMC\n"
    if undefined_xobject:
        text += b"q 1 0 0 1 70 714 cm /X1 Do Q\n"
    return stream_object(b"", text)


def signed_page(undefined_xobject=False):
    """The page dictionary (object 3); with `undefined_xobject`, its /X1 is object 99."""
    xobject = b"/XObject << /X1 %d 0 R >> " % UNDEFINED_XOBJECT if undefined_xobject else b""
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /Properties << /OC1 11 0 R >> " + xobject
        + b">> /Annots [7 0 R 8 0 R] >>"
    )


def xmp(modified):
    packet = (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        b"<xmp:ModifyDate>" + modified + b"</xmp:ModifyDate>"
        b'</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'
    )
    return stream_object(b"/Type /Metadata /Subtype /XML", packet)


def info(mod_date):
    return (
        b"<< /Title (Quyet dinh 12/QD-UBND) /Producer (vanthu attack corpus) "
        b"/ModDate (" + mod_date + b") >>"
    )


HIDDEN_CATALOG = 13
UNDEFINED_XOBJECT = 99

# The unsigned document. Objects 13 to 16 are the hidden second catalog and its page tree:
# nothing refers to them, so no viewer shows them while the trailer's /Root is object 1.
BASE_OBJECTS = {
    1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R /OCProperties 9 0 R /Metadata 10 0 R >>",
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: signed_page(),
    4: page_text(SIGNED_TEXT),
    5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    6: b"<< /Fields [7 0 R] /DA (/F1 0 Tf 0 g) /DR << /Font << /F1 5 0 R >> >> >>",
    7: b"<< /FT /Tx /T (SoKyHieu) /Type /Annot /Subtype /Widget /Rect [72 600 300 630] "
    b"/P 3 0 R /F 4 /DA (/F1 12 Tf 0 g) >>",
    # F 2: hidden.
    8: b"<< /Type /Annot /Subtype /Stamp /Rect [360 640 570 680] /F 2 /AP << /N 12 0 R >> "
    b"/P 3 0 R >>",
    9: b"<< /OCGs [11 0 R] /D << /Order [11 0 R] /OFF [11 0 R] >> >>",
    10: xmp(b"2026-12-01T08:00:00+07:00"),
    11: b"<< /Type /OCG /Name (Ghi chu noi bo) >>",
    12: stream_object(
        b"/Type /XObject /Subtype /Form /BBox [0 0 210 40] /Resources << /Font << /F1 5 0 R >> >>",
        b"1 0 0 rg BT /F1 20 Tf 8 12 Td (DA HUY BO) Tj ET",
    ),
    13: b"<< /Type /Catalog /Pages 14 0 R /AcroForm 6 0 R >>",
    14: b"<< /Type /Pages /Kids [15 0 R] /Count 1 >>",
    15: b"<< /Type /Page /Parent 14 0 R /MediaBox [0 0 595 842] /Contents 16 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
    16: page_text(FORGED_TEXT, signed_page=False),
    17: info(b"D:20261201080000+07'00'"),
}
# The same document whose page also paints XObject /X1, object 99, which nothing defines: the
# reference resolves to null when signed and paints nothing. A document of its own, because
# pyHanko 0.38 fails with a KeyError on such a reference whenever it compares the page.
# Signing numbers its objects from /Size, far below 99.
DANGLING_OBJECTS = {
    **BASE_OBJECTS,
    3: signed_page(undefined_xobject=True),
    4: page_text(SIGNED_TEXT, undefined_xobject=True),
}


def ref(num):
    return generic.IndirectObject(num, 0, None)


def edited(obj, changes):
    """A copy of dictionary `obj` with `changes` ({"/Key": value}; None removes the key)."""
    copy = generic.DictionaryObject({k: obj.raw_get(k) for k in obj})
    for key, value in changes.items():
        if value is None:
            copy.pop(key, None)
        else:
            copy[generic.NameObject(key)] = value
    return copy


def set_catalog(u, changes):
    root = u.reader.trailer.raw_get("/Root").idnum
    u.put(root, edited(u.reader.root, changes))


def add_to_annots(u, annot):
    """Adds annotation `annot` (a number) to the page's /Annots, wherever that array lives."""
    page = u.get(3)
    annots = page.raw_get("/Annots")
    items = generic.ArrayObject(list(annots.get_object() if annots is not None else []))
    items.append(ref(annot))
    if isinstance(annots, generic.IndirectObject):
        u.put(annots.idnum, items)
    else:
        u.put(3, edited(page, {"/Annots": items}))


def vri_key(u):
    """The signature's /VRI key as pyHanko's own DSS writer makes it (upper-case hex SHA-1 of
    the hex-encoded CMS), so the entry looks exactly like the legal update's."""
    cms = u.reader.embedded_signatures[0].pkcs7_content
    return hashlib.sha1(cms.hex().encode("ascii")).hexdigest().upper().encode()


def dss_listing(u, num, via):
    """A new /DSS that lists object `num` under /Certs or under a /VRI entry's /Cert."""
    if via == "certs":
        dss = b"<< /Type /DSS /Certs [%d 0 R] >>" % num
    else:
        dss = b"<< /Type /DSS /VRI << /%s << /Cert [%d 0 R] >> >> >>" % (vri_key(u), num)
    set_catalog(u, {"/DSS": ref(u.add(dss))})


# Attacks: each takes an Update of a signed base and fills it in.

def new_root(u):
    """A new catalog (the old one's entries, another page tree) becomes the trailer's /Root."""
    content = u.add(page_text(FORGED_TEXT, signed_page=False))
    pages = u.new_number()
    page = u.add(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>" % (pages, content)
    )
    u.put(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    catalog = u.add(edited(u.reader.root, {"/Pages": ref(pages)}))
    u.trailer["Root"] = b"%d 0 R" % catalog


def hide_and_replace(u):
    """Only the trailer changes: /Root names the catalog hidden in the signed revision."""
    u.trailer["Root"] = b"%d 0 R" % HIDDEN_CATALOG


def dss_shadow(target, via):
    """A /DSS that lists `target` (page, content, ocproperties, annotation) as validation
    data under `via` (/Certs or /VRI), and `target` overwritten so the page shows something
    else."""

    def attack(u):
        if target == "page":
            content = u.add(page_text(FORGED_TEXT))
            u.put(3, edited(u.get(3), {"/Contents": ref(content)}))
            num = 3
        elif target == "content":
            num = u.put(4, page_text(FORGED_TEXT))
        elif target == "ocproperties":
            # The layer that was off when signed is switched on.
            num = u.put(9, b"<< /OCGs [11 0 R] /D << /Order [11 0 R] /ON [11 0 R] >> >>")
        else:
            # The stamp that was hidden when signed is shown (F 4: print, not hidden).
            num = u.put(8, edited(u.get(8), {"/F": generic.NumberObject(4)}))
        dss_listing(u, num, via)

    return attack


def metadata_shadow(u):
    """The catalog's /Metadata points at the page content stream, which is overwritten."""
    u.put(4, page_text(FORGED_TEXT))
    set_catalog(u, {"/Metadata": ref(4)})


def font_remap(u):
    """The page font maps code 49 ("1") to the glyph nine, /DSS lists the font: the page
    reads "cap 90 trieu dong" from the same content stream."""
    u.put(
        5,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
        b"/BaseEncoding /WinAnsiEncoding /Differences [49 /nine] >> >>",
    )
    dss_listing(u, 5, "certs")


def info_shadow(u):
    """The trailer's /Info points at the page content stream, which is overwritten."""
    u.put(4, page_text(FORGED_TEXT))
    u.trailer["Info"] = b"4 0 R"


def overlay():
    """A form XObject, 400 by 24, that paints the forged line on white."""
    return stream_object(
        b"/Type /XObject /Subtype /Form /BBox [0 0 400 24] /Resources << /Font << /F1 5 0 R >> >>",
        b"1 g 0 0 400 24 re f 0 g BT /F1 14 Tf 2 6 Td (" + FORGED_TEXT + b") Tj ET",
    )


def dangling_reference(u):
    """Object 99, which the signed page already paints but which was undefined when signed,
    is defined: no object the signed revision had changes."""
    u.put(UNDEFINED_XOBJECT, overlay())


def widget_overlay(u):
    """A /Widget annotation that belongs to no form field paints the forged line over the
    signed one."""
    ap = u.add(overlay())
    widget = u.add(
        b"<< /Type /Annot /Subtype /Widget /Rect [70 714 470 738] /F 4 /P 3 0 R "
        b"/AP << /N %d 0 R >> >>" % ap
    )
    add_to_annots(u, widget)


def acroform_removed(u):
    """The catalog loses /AcroForm, and with it the list of signature fields."""
    set_catalog(u, {"/AcroForm": None})


# Legal counterparts written by hand.

def field_filled(u):
    """The clerk fills the text field: a value and an appearance showing it."""
    ap = u.add(stream_object(
        b"/Type /XObject /Subtype /Form /BBox [0 0 228 30] /Resources << /Font << /F1 5 0 R >> >>",
        b"/Tx BMC BT /F1 12 Tf 0 g 2 10 Td (123/QD-UBND) Tj ET EMC",
    ))
    appearance = generic.DictionaryObject({generic.NameObject("/N"): ref(ap)})
    u.put(7, edited(u.get(7), {"/V": generic.pdf_string("123/QD-UBND"), "/AP": appearance}))


def annotation_added(u):
    """A reader's note on the page."""
    note = u.add(
        b"<< /Type /Annot /Subtype /Text /Rect [20 800 40 820] /Contents (Da xem) /P 3 0 R >>"
    )
    add_to_annots(u, note)


def xmp_updated(u):
    u.put(10, xmp(b"2026-12-02T09:30:00+07:00"))


def info_updated(u):
    u.put(17, info(b"D:20261202093000+07'00'"))


def identical_rewrite(u):
    """The page content and the font written again, byte for byte as signed."""
    u.put(4, BASE_OBJECTS[4])
    u.put(5, BASE_OBJECTS[5])


# Where pyHanko (0.38, default diff policy) and vanthu's expected verdict part ways:
# (class, pyHanko's verdict) -> why. A `why` is recorded only when pyHanko gives exactly that
# verdict, so a change in pyHanko shows up as an unexplained difference.
NO_ANNOTATION_RULE = (
    "pyHanko's default diff policy has no rule admitting annotations and calls them OTHER even "
    "under P=3; DocMDP P=3 permits them, so vanthu keeps the signature valid (and must warn "
    "that the page shows something the signer did not sign)"
)
PYHANKO_DIFFERS = {
    ("dangling_reference", "valid"): (
        "pyHanko judges the objects the signed revision had and new objects only through "
        "changed objects that refer to them; an object first defined later, which a signed "
        "page already referred to (null when signed), is never looked at"
    ),
    ("acroform_removed", "unsigned"): (
        "pyHanko looks for signatures only in the last revision's /AcroForm, so once it is "
        "removed the file looks unsigned; vanthu must still report the signature (issue 11) "
        "and judge the removal"
    ),
    ("widget_overlay", "modified"): NO_ANNOTATION_RULE,
    ("annotation_added", "modified"): NO_ANNOTATION_RULE,
}


class Corpus:
    def __init__(self, certs, out):
        self.certs, self.out = certs, out
        self.cases = {}
        self.root = load_cert_from_pemder(os.path.join(certs, "root-ca.pem"))
        crls = []
        for name in ("issuing-ca.crl", "root-ca.crl"):
            with open(os.path.join(certs, name), "rb") as f:
                crls.append(asn1_crl.CertificateList.load(f.read()))
        self.crls = crls

    def add(self, cls, variant, kind, base, xref, data, expected, signatures=1):
        name = "-".join(p for p in (cls, variant, base, xref) if p)
        if name in self.cases:
            raise ValueError(f"two cases named {name}")
        self.cases[name] = {
            "file": name + ".pdf", "class": cls, "variant": variant, "kind": kind,
            "base": base, "xref": xref, "expected": expected, "signatures": signatures,
            "revisions": len(re.findall(rb"startxref\s+\d+\s+%%EOF", data)),
        }
        with open(os.path.join(self.out, name + ".pdf"), "wb") as f:
            f.write(data)

    def context(self):
        return ValidationContext(trust_roots=[self.root], crls=self.crls, allow_fetching=False)

    def judge(self):
        root_pem = os.path.join(self.certs, "root-ca.pem")
        for case in self.cases.values():
            got = pyhanko_verdict(os.path.join(self.out, case["file"]), root_pem)
            case["pyhanko"] = got["verdict"]
            case["pyhanko_signatures"] = got["signatures"]
            if got["verdict"] != case["expected"]:
                why = PYHANKO_DIFFERS.get((case["class"], got["verdict"]))
                if why is not None:
                    case["why"] = why

    def write(self):
        with open(os.path.join(self.out, "expected.json"), "w") as f:
            json.dump(self.cases, f, indent=2)


def signed_bases(certs, objects=BASE_OBJECTS):
    """The document `objects` signed each way: {(base, xref kind): bytes}."""
    official = dev_signer(certs, "signer-rsa")
    signed = {}
    for xref in ("table", "stream"):
        unsigned = write_pdf(objects, xref=xref, info=17)
        signed["approval", xref] = sign(unsigned, FIELD, official)
        for base, p in PERMISSION.items():
            signed[base, xref] = sign(
                unsigned, FIELD, official, certify=True, docmdp_permissions=p
            )
    return signed


def main():
    certs, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    corpus = Corpus(certs, out)
    seal = dev_signer(certs, "seal")
    tsa = dev_timestamper(certs)
    signed = signed_bases(certs)
    dangling = signed_bases(certs, DANGLING_OBJECTS)

    def by_hand(cls, variant, kind, base, xref, build, expected, section=None, bases=signed):
        """One case: `build` fills an Update of the signed base, written with a cross-reference
        section of the base's kind unless `section` says otherwise."""
        u = Update(bases[base, xref])
        build(u)
        section = section or xref
        corpus.add(cls, variant, kind, base, section, u.write(section), expected)

    for (base, xref) in signed:
        by_hand("new_root", None, "attack", base, xref, new_root, "modified")
        by_hand("hide_and_replace", None, "attack", base, xref, hide_and_replace, "modified")
        for target in ("page", "content", "ocproperties", "annotation"):
            for via in ("certs", "vri"):
                by_hand("dss_shadow", f"{target}-{via}", "attack", base, xref,
                        dss_shadow(target, via), "modified")
        by_hand("metadata_shadow", None, "attack", base, xref, metadata_shadow, "modified")
        by_hand("info_shadow", None, "attack", base, xref, info_shadow, "modified")
        by_hand("font_remap", None, "attack", base, xref, font_remap, "modified")
        by_hand("dangling_reference", None, "attack", base, xref, dangling_reference,
                "modified", bases=dangling)
        by_hand("widget_overlay", None, "attack", base, xref, widget_overlay,
                "valid" if base == "p3" else "modified")
        by_hand("acroform_removed", None, "attack", base, xref, acroform_removed, "modified")

        # Legal counterparts.
        data = signed[base, xref]
        sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
        lt = add_validation_info(sig, corpus.context(), output=io.BytesIO()).getvalue()
        corpus.add("dss_update", None, "legal", base, xref, lt, "valid")
        if base in ("approval", "p1"):
            stamped = signers.PdfTimeStamper(tsa).timestamp_pdf(
                IncrementalPdfFileWriter(io.BytesIO(data)), "sha256"
            ).getvalue()
            corpus.add("doc_timestamp", None, "legal", base, xref, stamped, "valid", 2)
            by_hand("identical_rewrite", None, "legal", base, xref, identical_rewrite, "valid")
        if base in ("approval", "p2"):
            by_hand("field_filled", None, "legal", base, xref, field_filled, "valid")
        if base in ("approval", "p2", "p3"):
            corpus.add("second_signature", None, "legal", base, xref,
                       sign(data, "ChuKyConDau", seal), "valid", 2)
        if base == "p3":
            by_hand("annotation_added", None, "legal", base, xref, annotation_added, "valid")
        if base == "approval":
            by_hand("xmp_updated", None, "legal", base, xref, xmp_updated, "valid")
            by_hand("info_updated", None, "legal", base, xref, info_updated, "valid")

    # Hide-and-Replace with an empty cross-reference section after the classic tables.
    for base in BASES:
        by_hand("hide_and_replace", None, "attack", base, "table", hide_and_replace,
                "modified", section="empty")

    corpus.judge()
    corpus.write()


if __name__ == "__main__":
    if sys.argv[1] == "--fixture":
        with open(sys.argv[3], "wb") as f:
            f.write(signed_bases(sys.argv[2])["p2", "stream"])
    else:
        main()
