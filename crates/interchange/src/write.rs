//! Writes packages as the national SDK lays them out: `edXML` with the default namespace,
//! `edXML:edXMLEnvelope` holding the header (and, once signed, the XML Signature) and the
//! manifest, then `AttachmentEncoded` with each file in base64.
//!
//! Everything a package will carry is checked first, by the same rules the reader applies,
//! so vanthu never sends what it would refuse.

use base64::Engine;
use quick_xml::escape::escape;

use crate::error::BuildError;
use crate::package::{
    max, Attachment, Business, MessageHeader, Organ, Package, ResponseFor, StaffInfo,
    TraceHeaderList, EDXML_NS,
};
use crate::rules::{check_text, format_date, format_timestamp};
use crate::status::StatusPackage;

/// The closing tag the signature is placed before (see [`crate::signature::sign`]).
pub(crate) const HEADER_END: &str = "</edXML:edXMLHeader>";

/// An XML text under construction; element names are the format's own, values are escaped
/// by quick-xml.
struct Xml {
    out: String,
    /// Path of the element being written, for errors.
    path: Vec<&'static str>,
}

impl Xml {
    fn new() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Xml {
            out,
            path: Vec::new(),
        }
    }

    fn where_(&self, leaf: &str) -> String {
        const CONTAINERS: [&str; 4] = ["edXML", "edXMLEnvelope", "edXMLHeader", "edXMLBody"];
        let mut p = self
            .path
            .iter()
            .copied()
            .filter(|name| !CONTAINERS.contains(name))
            .collect::<Vec<_>>()
            .join("/");
        if !p.is_empty() {
            p.push('/');
        }
        p.push_str(leaf);
        p
    }

    fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape(*v));
            self.out.push('"');
        }
        self.out.push('>');
        self.path.push(name.trim_start_matches("edXML:"));
    }

    fn close(&mut self, name: &'static str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.path.pop();
    }

    /// An element with text content, checked against `max` characters.
    fn leaf(&mut self, name: &'static str, value: &str, max: usize) -> Result<(), BuildError> {
        let short = name.trim_start_matches("edXML:");
        check_text(value, max).map_err(|reason| BuildError {
            element: self.where_(short),
            reason,
        })?;
        if value.trim().is_empty() {
            return Err(BuildError {
                element: self.where_(short),
                reason: "must not be empty".to_owned(),
            });
        }
        self.raw_leaf(name, &escape(value));
        Ok(())
    }

    fn raw_leaf(&mut self, name: &str, escaped: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.out.push_str(escaped);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn opt_leaf(
        &mut self,
        name: &'static str,
        value: Option<&str>,
        max: usize,
    ) -> Result<(), BuildError> {
        match value {
            Some(v) => self.leaf(name, v, max),
            None => Ok(()),
        }
    }

    fn number(&mut self, name: &str, value: impl std::fmt::Display) {
        self.raw_leaf(name, &value.to_string());
    }
}

fn organ(x: &mut Xml, tag: &'static str, o: &Organ) -> Result<(), BuildError> {
    x.open(tag, &[]);
    x.leaf("edXML:OrganId", o.id.as_str(), max::ORGAN_ID)?;
    x.opt_leaf(
        "edXML:OrganizationInCharge",
        o.in_charge.as_deref(),
        max::ORGAN_NAME,
    )?;
    x.leaf("edXML:OrganName", &o.name, max::ORGAN_NAME)?;
    x.opt_leaf("edXML:OrganAdd", o.address.as_deref(), max::NAME)?;
    x.opt_leaf("edXML:Email", o.email.as_deref(), max::CONTACT)?;
    x.opt_leaf("edXML:Telephone", o.telephone.as_deref(), max::CONTACT)?;
    x.opt_leaf("edXML:Fax", o.fax.as_deref(), max::CONTACT)?;
    x.opt_leaf("edXML:Website", o.website.as_deref(), max::CONTACT)?;
    x.close(tag);
    Ok(())
}

fn response_for(x: &mut Xml, r: &ResponseFor) -> Result<(), BuildError> {
    x.open("edXML:ResponseFor", &[]);
    x.leaf("edXML:OrganId", r.organ_id.as_str(), max::ORGAN_ID)?;
    x.opt_leaf("edXML:Code", r.code.as_deref(), max::ORGAN_NAME)?;
    if let Some(d) = r.promulgation_date {
        x.number("edXML:PromulgationDate", format_date(d));
    }
    x.leaf("edXML:DocumentId", r.document_id.as_str(), max::REMARK)?;
    x.close("edXML:ResponseFor");
    Ok(())
}

fn staff(x: &mut Xml, s: &StaffInfo) -> Result<(), BuildError> {
    x.open("edXML:StaffInfo", &[]);
    x.opt_leaf("edXML:Department", s.department.as_deref(), max::NAME)?;
    x.opt_leaf("edXML:Staff", s.staff.as_deref(), max::NAME)?;
    x.opt_leaf("edXML:Mobile", s.mobile.as_deref(), max::CONTACT)?;
    x.opt_leaf("edXML:Email", s.email.as_deref(), max::CONTACT)?;
    x.close("edXML:StaffInfo");
    Ok(())
}

fn message_header(x: &mut Xml, h: &MessageHeader) -> Result<(), BuildError> {
    x.open("edXML:MessageHeader", &[]);
    organ(x, "edXML:From", &h.from)?;
    if h.to.is_empty() {
        return Err(BuildError {
            element: "MessageHeader/To".to_owned(),
            reason: "a package names at least one recipient".to_owned(),
        });
    }
    for to in &h.to {
        organ(x, "edXML:To", to)?;
    }
    x.open("edXML:Code", &[]);
    x.number("edXML:CodeNumber", h.code.number());
    x.leaf("edXML:CodeNotation", h.code.notation(), 30)?;
    x.close("edXML:Code");
    x.open("edXML:PromulgationInfo", &[]);
    x.opt_leaf("edXML:Place", h.promulgation.place.as_deref(), max::NAME)?;
    x.number("edXML:PromulgationDate", format_date(h.promulgation.date));
    x.close("edXML:PromulgationInfo");
    x.open("edXML:DocumentType", &[]);
    if let Some(code) = h.document_type.code {
        x.number("edXML:Type", code);
    }
    x.leaf("edXML:TypeName", h.document_type.name.as_str(), 100)?;
    x.close("edXML:DocumentType");
    x.leaf("edXML:Subject", h.subject.as_str(), 500)?;
    x.opt_leaf("edXML:Content", h.content.as_deref(), max::CONTENT)?;
    x.open("edXML:SignerInfo", &[]);
    x.opt_leaf(
        "edXML:Competence",
        h.signer.competence.as_deref(),
        max::NAME,
    )?;
    x.leaf("edXML:Position", h.signer.position.as_str(), 100)?;
    x.leaf("edXML:FullName", &h.signer.full_name, max::NAME)?;
    x.close("edXML:SignerInfo");
    if let Some(due) = h.due_date {
        x.number("edXML:DueDate", format_date(due));
    }
    if !h.to_places.is_empty() {
        x.open("edXML:ToPlaces", &[]);
        for place in &h.to_places {
            x.leaf("edXML:Place", place, max::NAME)?;
        }
        x.close("edXML:ToPlaces");
    }
    let o = &h.other;
    x.open("edXML:OtherInfo", &[]);
    x.number("edXML:Priority", o.priority.priority());
    x.opt_leaf(
        "edXML:SphereOfPromulgation",
        o.sphere_of_promulgation.as_deref(),
        max::REMARK,
    )?;
    x.opt_leaf(
        "edXML:TyperNotation",
        o.typer_notation.as_deref(),
        max::CONTACT,
    )?;
    if let Some(n) = o.promulgation_amount {
        x.number("edXML:PromulgationAmount", n);
    }
    if let Some(n) = o.page_amount {
        x.number("edXML:PageAmount", n);
    }
    if !o.appendixes.is_empty() {
        x.open("edXML:Appendixes", &[]);
        for a in &o.appendixes {
            x.leaf("edXML:Appendix", a, max::REMARK)?;
        }
        x.close("edXML:Appendixes");
    }
    x.close("edXML:OtherInfo");
    for r in &h.response_for {
        response_for(x, r)?;
    }
    x.number("edXML:SteeringType", h.steering_type);
    x.leaf("edXML:DocumentId", h.document_id.as_str(), max::REMARK)?;
    x.close("edXML:MessageHeader");
    Ok(())
}

fn business(x: &mut Xml, b: &Business) -> Result<(), BuildError> {
    x.open("edXML:Bussiness", &[]);
    x.number("edXML:BussinessDocType", b.doc_type.code());
    x.opt_leaf("edXML:BussinessDocReason", b.reason.as_deref(), max::REMARK)?;
    if let Some(s) = &b.staff {
        staff(x, s)?;
    }
    if !b.receivers.is_empty() {
        x.open("edXML:ReceiverList", &[]);
        for r in &b.receivers {
            x.open("edXML:Receiver", &[]);
            if let Some(t) = r.receiver_type {
                x.number("edXML:ReceiverType", t);
            }
            x.leaf("edXML:OrganId", r.organ_id.as_str(), max::ORGAN_ID)?;
            x.close("edXML:Receiver");
        }
        x.close("edXML:ReceiverList");
    }
    if !b.replacements.is_empty() {
        x.open("edXML:ReplacementInfoList", &[]);
        for r in &b.replacements {
            x.open("edXML:ReplacementInfo", &[]);
            x.leaf("edXML:DocumentId", r.document_id.as_str(), max::REMARK)?;
            x.open("edXML:OrganIdList", &[]);
            for id in &r.organ_ids {
                x.leaf("edXML:OrganId", id.as_str(), max::ORGAN_ID)?;
            }
            x.close("edXML:OrganIdList");
            x.close("edXML:ReplacementInfo");
        }
        x.close("edXML:ReplacementInfoList");
    }
    x.close("edXML:Bussiness");
    Ok(())
}

fn trace_list(x: &mut Xml, t: &TraceHeaderList) -> Result<(), BuildError> {
    x.open("edXML:TraceHeaderList", &[]);
    for hop in &t.traces {
        x.open("edXML:TraceHeader", &[]);
        x.leaf("edXML:OrganId", hop.organ_id.as_str(), max::ORGAN_ID)?;
        x.number("edXML:Timestamp", format_timestamp(hop.timestamp));
        x.close("edXML:TraceHeader");
    }
    business(x, &t.business)?;
    x.close("edXML:TraceHeaderList");
    Ok(())
}

fn check_attachment(a: &Attachment) -> Result<(), BuildError> {
    for (element, value) in [
        ("AttachmentEncoded/Attachment/ContentId", &a.content_id),
        ("AttachmentEncoded/Attachment/AttachmentName", &a.name),
        ("AttachmentEncoded/Attachment/ContentType", &a.content_type),
    ] {
        let bad = |reason: String| BuildError {
            element: element.to_owned(),
            reason,
        };
        check_text(value, max::ATTACHMENT_LABEL).map_err(bad)?;
        if value.trim().is_empty() {
            return Err(bad("must not be empty".to_owned()));
        }
    }
    Ok(())
}

fn manifest(x: &mut Xml, attachments: &[Attachment]) -> Result<(), BuildError> {
    x.open("edXML:edXMLBody", &[]);
    x.open("edXML:edXMLManifest", &[("version", "1.0")]);
    for a in attachments {
        check_attachment(a)?;
        let href = format!("cid:{}", a.content_id);
        x.open(
            "edXML:Reference",
            &[
                ("xmlns:xlink", "http://www.w3.org/1999/xlink"),
                ("xlink:href", &href),
                ("xlink:type", "simple"),
            ],
        );
        x.opt_leaf("edXML:Description", a.description.as_deref(), max::REMARK)?;
        x.leaf("edXML:AttachmentName", &a.name, max::ATTACHMENT_LABEL)?;
        x.leaf("edXML:ContentType", &a.content_type, max::ATTACHMENT_LABEL)?;
        x.leaf("edXML:ContentId", &href, max::ATTACHMENT_LABEL + 4)?;
        x.close("edXML:Reference");
    }
    x.close("edXML:edXMLManifest");
    x.close("edXML:edXMLBody");
    Ok(())
}

fn attachments(x: &mut Xml, attachments: &[Attachment]) -> Result<(), BuildError> {
    if attachments.is_empty() {
        return Ok(());
    }
    x.open("AttachmentEncoded", &[]);
    for a in attachments {
        x.open("Attachment", &[]);
        x.leaf("ContentType", &a.content_type, max::ATTACHMENT_LABEL)?;
        x.leaf("ContentId", &a.content_id, max::ATTACHMENT_LABEL)?;
        x.opt_leaf("Description", a.description.as_deref(), max::REMARK)?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&a.data);
        x.raw_leaf("ContentTransferEncoded", &encoded);
        x.leaf("AttachmentName", &a.name, max::ATTACHMENT_LABEL)?;
        x.close("Attachment");
    }
    x.close("AttachmentEncoded");
    Ok(())
}

fn envelope(
    header: impl FnOnce(&mut Xml) -> Result<(), BuildError>,
    files: &[Attachment],
) -> Result<String, BuildError> {
    let mut x = Xml::new();
    x.open("edXML", &[("xmlns", EDXML_NS)]);
    x.open("edXML:edXMLEnvelope", &[("xmlns:edXML", EDXML_NS)]);
    x.open("edXML:edXMLHeader", &[]);
    header(&mut x)?;
    x.close("edXML:edXMLHeader");
    manifest(&mut x, files)?;
    x.close("edXML:edXMLEnvelope");
    attachments(&mut x, files)?;
    x.close("edXML");
    Ok(x.out)
}

impl Package {
    /// The package as XML, unsigned; [`crate::sign`] adds the seal's signature.
    pub fn to_xml(&self) -> Result<String, BuildError> {
        let mut ids: Vec<&str> = self
            .attachments
            .iter()
            .map(|a| a.content_id.as_str())
            .collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(BuildError {
                element: "AttachmentEncoded/Attachment/ContentId".to_owned(),
                reason: format!("'{}' names two attachments", w[0]),
            });
        }
        envelope(
            |x| {
                message_header(x, &self.header)?;
                trace_list(x, &self.trace)
            },
            &self.attachments,
        )
    }
}

impl StatusPackage {
    /// The status package as XML, unsigned.
    pub fn to_xml(&self) -> Result<String, BuildError> {
        envelope(
            |x| {
                x.open("edXML:Status", &[]);
                response_for(x, &self.response_for)?;
                organ(x, "edXML:From", &self.from)?;
                x.number("edXML:StatusCode", self.status.code());
                x.opt_leaf(
                    "edXML:Description",
                    self.description.as_deref(),
                    max::REMARK,
                )?;
                x.number("edXML:Timestamp", format_timestamp(self.timestamp));
                if let Some(s) = &self.staff {
                    staff(x, s)?;
                }
                x.close("edXML:Status");
                Ok(())
            },
            &[],
        )
    }
}
