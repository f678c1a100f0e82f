//! Reads packages as they arrive: within limits, without a DTD or entities, in the QCVN 102
//! namespace; liberal where nothing is lost (stray bytes before the XML declaration, missing
//! optional elements, agency codes in old spellings, other unambiguous date forms), each
//! such leniency reported as a [`Tolerance`].

use std::cell::RefCell;

use base64::Engine;
use vanthu_domain::UnitCode;
use vanthu_routing::{
    DocumentIdentifier, DocumentType, InterchangeStatus, NumberNotation, Position, Summary, Urgency,
};

use crate::error::{PackageError, Read, Tolerance};
use crate::package::{
    max, Attachment, Business, BusinessDocType, DocumentKind, MessageHeader, Organ, OtherInfo,
    Package, PromulgationInfo, Receiver, ReplacementInfo, ResponseFor, SignerInfo, StaffInfo,
    TraceHeader, TraceHeaderList, EDXML_NS,
};
use crate::rules::{check_text, read_date, read_timestamp, DateReading, TimestampReading};
use crate::status::{status_from_code, StatusPackage};

/// What a package may weigh and how it may be shaped; anything beyond is refused before or
/// while it is parsed, so a hostile package cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest package, in bytes, as received.
    pub max_package_bytes: usize,
    /// Largest single attachment, in bytes, decoded.
    pub max_attachment_bytes: usize,
    /// Deepest element nesting (a real package nests 7 deep).
    pub max_depth: usize,
    /// Most XML nodes (elements, texts, comments) in one package.
    pub max_nodes: u32,
}

impl Default for Limits {
    /// 100 MB packages, 50 MB attachments (a 200-page colour scan at 200 dpi), 32 levels,
    /// 100,000 nodes.
    fn default() -> Self {
        Limits {
            max_package_bytes: 100 * 1024 * 1024,
            max_attachment_bytes: 50 * 1024 * 1024,
            max_depth: 32,
            max_nodes: 100_000,
        }
    }
}

/// A package of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A document package.
    Document(Box<Package>),
    /// A status package.
    Status(Box<StatusPackage>),
}

/// The XML text of a package once stray bytes before it are dropped, with what was dropped.
pub(crate) fn xml_text<'b>(
    bytes: &'b [u8],
    limits: &Limits,
) -> Result<Read<&'b str>, PackageError> {
    if bytes.len() > limits.max_package_bytes {
        return Err(PackageError::TooLarge {
            size: bytes.len(),
            limit: limits.max_package_bytes,
        });
    }
    let mut tolerated = Vec::new();
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = body
        .windows(5)
        .position(|w| w == b"<?xml")
        .filter(|&at| at < 1024)
        .or_else(|| body.iter().position(|&b| b == b'<'))
        .ok_or_else(|| PackageError::Malformed("no XML element found".to_owned()))?;
    if start > 0 {
        tolerated.push(Tolerance {
            element: "package".to_owned(),
            what: format!("{start} stray bytes before the XML declaration were ignored"),
        });
    }
    let text = std::str::from_utf8(&body[start..]).map_err(|e| {
        PackageError::Malformed(format!(
            "not UTF-8 (invalid byte at offset {})",
            start + e.valid_up_to()
        ))
    })?;
    Ok(Read {
        value: text,
        tolerated,
    })
}

/// Parses the XML under the limits: no DTD, bounded nodes and depth.
pub(crate) fn parse_xml<'i>(
    text: &'i str,
    limits: &Limits,
) -> Result<roxmltree::Document<'i>, PackageError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => PackageError::DocumentType,
        roxmltree::Error::NodesLimitReached => PackageError::TooManyNodes {
            limit: limits.max_nodes,
        },
        other => PackageError::Malformed(other.to_string()),
    })?;
    // roxmltree accepts an empty `<!DOCTYPE x>`; the format has no use for one either.
    let prolog = &text[..doc.root_element().range().start];
    if prolog.contains("<!DOCTYPE") {
        return Err(PackageError::DocumentType);
    }
    // Node ids follow document order, so a parent's depth is known before its children's.
    let mut depth = vec![0usize; doc.descendants().count() + 1];
    for node in doc.descendants() {
        if let Some(parent) = node.parent() {
            let d = depth[parent.id().get_usize()] + 1;
            if d > limits.max_depth {
                return Err(PackageError::TooDeep {
                    depth: d,
                    limit: limits.max_depth,
                });
            }
            depth[node.id().get_usize()] = d;
        }
    }
    Ok(doc)
}

/// Reads a package of either kind.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Read<Message>, PackageError> {
    let text = xml_text(bytes, limits)?;
    let doc = parse_xml(text.value, limits)?;
    let reader = Reader {
        tolerated: RefCell::new(text.tolerated),
        limits: *limits,
    };
    let message = reader.message(&doc)?;
    Ok(Read {
        value: message,
        tolerated: reader.tolerated.into_inner(),
    })
}

struct Reader {
    tolerated: RefCell<Vec<Tolerance>>,
    limits: Limits,
}

/// An element and its path, for errors that name it.
#[derive(Clone)]
struct El<'a, 'i> {
    node: roxmltree::Node<'a, 'i>,
    path: String,
}

impl<'a, 'i> El<'a, 'i> {
    fn name(&self) -> &str {
        self.node.tag_name().name()
    }

    fn sub(&self, node: roxmltree::Node<'a, 'i>) -> El<'a, 'i> {
        let name = node.tag_name().name();
        let path = if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.path)
        };
        El { node, path }
    }
}

impl Reader {
    fn tolerate(&self, element: &str, what: impl Into<String>) {
        let what = what.into();
        let mut list = self.tolerated.borrow_mut();
        if !list.iter().any(|t| t.element == element && t.what == what) {
            list.push(Tolerance {
                element: element.to_owned(),
                what,
            });
        }
    }

    /// Whether `node` is an edXML element; one without a namespace is accepted and noted.
    fn is_edxml(&self, node: &roxmltree::Node) -> bool {
        match node.tag_name().namespace() {
            Some(EDXML_NS) => true,
            None => {
                self.tolerate(
                    node.tag_name().name(),
                    "element without the QCVN 102 namespace, read as edXML",
                );
                true
            }
            Some(_) => false,
        }
    }

    fn children<'a, 'i>(&self, el: &El<'a, 'i>, name: &str) -> Vec<El<'a, 'i>> {
        el.node
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == name && self.is_edxml(n))
            .map(|n| el.sub(n))
            .collect()
    }

    fn child<'a, 'i>(&self, el: &El<'a, 'i>, name: &str) -> Option<El<'a, 'i>> {
        self.children(el, name).into_iter().next()
    }

    fn req<'a, 'i>(&self, el: &El<'a, 'i>, name: &str) -> Result<El<'a, 'i>, PackageError> {
        if let Some(found) = self.child(el, name) {
            return Ok(found);
        }
        let path = join(&el.path, name);
        match el
            .node
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == name)
        {
            Some(other) => Err(PackageError::WrongNamespace {
                element: path,
                found: other.tag_name().namespace().unwrap_or("").to_owned(),
            }),
            None => Err(PackageError::missing(path)),
        }
    }

    /// The trimmed text of an optional element, `None` when absent or empty; checked
    /// against `max` characters.
    fn opt_text(&self, el: &El, name: &str, max: usize) -> Result<Option<String>, PackageError> {
        let Some(child) = self.child(el, name) else {
            return Ok(None);
        };
        let text: String = child
            .node
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        check_text(text, max).map_err(|reason| PackageError::invalid(&child.path, reason))?;
        Ok(Some(text.to_owned()))
    }

    fn req_text(&self, el: &El, name: &str, max: usize) -> Result<String, PackageError> {
        self.req(el, name)?;
        self.opt_text(el, name, max)?
            .ok_or_else(|| PackageError::missing(join(&el.path, name)))
    }

    /// The non-empty texts of the `item` elements in an optional `container`, each checked
    /// against `max` characters.
    fn text_list(
        &self,
        el: &El,
        container: &str,
        item: &str,
        max: usize,
    ) -> Result<Vec<String>, PackageError> {
        let Some(list) = self.child(el, container) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in self.children(&list, item) {
            let text = entry.node.text().unwrap_or("").trim();
            if text.is_empty() {
                continue;
            }
            check_text(text, max).map_err(|reason| PackageError::invalid(&entry.path, reason))?;
            out.push(text.to_owned());
        }
        Ok(out)
    }

    fn validated<T>(
        &self,
        el: &El,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, vanthu_domain::ValidationError>,
    ) -> Result<T, PackageError> {
        let text = self.req_text(el, name, usize::MAX)?;
        parse(&text).map_err(|e| PackageError::invalid(join(&el.path, name), e.message))
    }

    fn opt_number<T: std::str::FromStr>(
        &self,
        el: &El,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, PackageError> {
        match self.opt_text(el, name, 20)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                PackageError::invalid(join(&el.path, name), format!("'{text}' is not {what}"))
            }),
        }
    }

    /// An agency code; lower case and `-`, `_` or space between the groups (old spellings)
    /// are accepted and noted, and a code longer than Appendix VI's 13 characters is noted.
    fn agency_code(&self, el: &El, name: &str) -> Result<UnitCode, PackageError> {
        let path = join(&el.path, name);
        let text = self.req_text(el, name, 60)?;
        let dotted: String = text
            .chars()
            .map(|c| if matches!(c, '-' | '_' | ' ') { '.' } else { c })
            .collect();
        let code = UnitCode::parse(&dotted).map_err(|e| PackageError::invalid(&path, e.message))?;
        if dotted != text {
            self.tolerate(
                &path,
                format!("agency code '{text}' in an old spelling, read as {code}"),
            );
        } else if code.as_str() != text {
            self.tolerate(
                &path,
                format!("agency code '{text}' in lower case, read as {code}"),
            );
        }
        if code.as_str().len() > max::ORGAN_ID {
            self.tolerate(
                &path,
                format!(
                    "agency code {code} is longer than the {} characters of Appendix VI",
                    max::ORGAN_ID
                ),
            );
        }
        Ok(code)
    }

    fn opt_date(&self, el: &El, name: &str) -> Result<Option<chrono::NaiveDate>, PackageError> {
        let path = join(&el.path, name);
        let Some(text) = self.opt_text(el, name, 40)? else {
            return Ok(None);
        };
        match read_date(&text) {
            Some(DateReading::Standard(d)) => Ok(Some(d)),
            Some(DateReading::Tolerated(d, what)) => {
                self.tolerate(&path, what);
                Ok(Some(d))
            }
            None => Err(PackageError::invalid(
                path,
                format!("'{text}' is not a date; write YYYY/MM/DD"),
            )),
        }
    }

    fn req_date(&self, el: &El, name: &str) -> Result<chrono::NaiveDate, PackageError> {
        self.req(el, name)?;
        self.opt_date(el, name)?
            .ok_or_else(|| PackageError::missing(join(&el.path, name)))
    }

    fn timestamp(
        &self,
        el: &El,
        name: &str,
    ) -> Result<chrono::DateTime<chrono::FixedOffset>, PackageError> {
        let path = join(&el.path, name);
        let text = self.req_text(el, name, 40)?;
        match read_timestamp(&text) {
            Some(TimestampReading::Standard(at)) => Ok(at),
            Some(TimestampReading::Tolerated(at, what)) => {
                self.tolerate(&path, what);
                Ok(at)
            }
            None => Err(PackageError::invalid(
                path,
                format!(
                    "'{text}' is not a timestamp; write RFC 3339, e.g. 2026-12-02T10:15:00+07:00"
                ),
            )),
        }
    }

    fn message(&self, doc: &roxmltree::Document) -> Result<Message, PackageError> {
        let root = doc.root_element();
        let top = El {
            node: root,
            path: String::new(),
        };
        let found_ns = root.tag_name().namespace().unwrap_or("");
        if found_ns != EDXML_NS {
            return Err(PackageError::WrongNamespace {
                element: root.tag_name().name().to_owned(),
                found: found_ns.to_owned(),
            });
        }
        let (envelope, files_parent) = match top.name() {
            "edXML" => (self.req(&top, "edXMLEnvelope")?, Some(top.clone())),
            "edXMLEnvelope" => {
                self.tolerate("edXMLEnvelope", "envelope without the edXML root element");
                (top.clone(), None)
            }
            other => {
                return Err(PackageError::invalid(
                    other,
                    "the root element must be edXML (or edXMLEnvelope)",
                ))
            }
        };
        // Paths in messages start below the envelope: `MessageHeader/Subject`.
        let header = self.req(&envelope, "edXMLHeader")?;
        let header = El {
            path: String::new(),
            ..header
        };
        if let Some(status) = self.child(&header, "Status") {
            return Ok(Message::Status(Box::new(self.status(&status)?)));
        }
        let message_header = self.req(&header, "MessageHeader")?;
        let message_header = self.message_header(&message_header)?;
        let trace = match self.child(&header, "TraceHeaderList") {
            Some(list) => self.trace_list(&list)?,
            None => {
                self.tolerate(
                    "TraceHeaderList",
                    "missing; the package is read as a new document",
                );
                TraceHeaderList {
                    traces: Vec::new(),
                    business: new_business(),
                }
            }
        };
        let body = self.child(&envelope, "edXMLBody").map(|b| El {
            path: String::new(),
            ..b
        });
        let attachments = self.attachments(body.as_ref(), files_parent.as_ref(), &envelope)?;
        Ok(Message::Document(Box::new(Package {
            header: message_header,
            trace,
            attachments,
        })))
    }

    fn organ(&self, el: &El) -> Result<Organ, PackageError> {
        let id = self.agency_code(el, "OrganId")?;
        let name = match self.opt_text(el, "OrganName", max::ORGAN_NAME)? {
            Some(name) => name,
            None => {
                self.tolerate(
                    &join(&el.path, "OrganName"),
                    format!("missing; the agency is named by its code {id}"),
                );
                id.to_string()
            }
        };
        Ok(Organ {
            id,
            name,
            in_charge: self.opt_text(el, "OrganizationInCharge", max::ORGAN_NAME)?,
            address: self.opt_text(el, "OrganAdd", max::NAME)?,
            email: self.opt_text(el, "Email", max::CONTACT)?,
            telephone: self.opt_text(el, "Telephone", max::CONTACT)?,
            fax: self.opt_text(el, "Fax", max::CONTACT)?,
            website: self.opt_text(el, "Website", max::CONTACT)?,
        })
    }

    fn response_for(&self, el: &El) -> Result<ResponseFor, PackageError> {
        Ok(ResponseFor {
            organ_id: self.agency_code(el, "OrganId")?,
            code: self.opt_text(el, "Code", max::ORGAN_NAME)?,
            promulgation_date: self.opt_date(el, "PromulgationDate")?,
            document_id: self.validated(el, "DocumentId", DocumentIdentifier::parse)?,
        })
    }

    fn staff(&self, el: &El) -> Result<StaffInfo, PackageError> {
        Ok(StaffInfo {
            department: self.opt_text(el, "Department", max::NAME)?,
            staff: self.opt_text(el, "Staff", max::NAME)?,
            mobile: self.opt_text(el, "Mobile", max::CONTACT)?,
            email: self.opt_text(el, "Email", max::CONTACT)?,
        })
    }

    fn message_header(&self, h: &El) -> Result<MessageHeader, PackageError> {
        let from = self.organ(&self.req(h, "From")?)?;
        let to = self
            .children(h, "To")
            .iter()
            .map(|t| self.organ(t))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(PackageError::missing(join(&h.path, "To")));
        }
        let code_el = self.req(h, "Code")?;
        let number = self.req_text(&code_el, "CodeNumber", 11)?;
        let notation = self.req_text(&code_el, "CodeNotation", 30)?;
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PackageError::invalid(
                join(&code_el.path, "CodeNumber"),
                format!("'{number}' is not a number of 1 to 11 digits"),
            ));
        }
        let code = NumberNotation::parse(&format!("{number}/{notation}"))
            .map_err(|e| PackageError::invalid(join(&code_el.path, "CodeNotation"), e.message))?;
        let prom = self.req(h, "PromulgationInfo")?;
        let promulgation = PromulgationInfo {
            place: self.opt_text(&prom, "Place", max::NAME)?,
            date: self.req_date(&prom, "PromulgationDate")?,
        };
        let kind = self.req(h, "DocumentType")?;
        let document_type = DocumentKind {
            code: self.opt_number(&kind, "Type", "a document type number")?,
            name: self.validated(&kind, "TypeName", DocumentType::parse)?,
        };
        let signer_el = self.req(h, "SignerInfo")?;
        let signer = SignerInfo {
            competence: self.opt_text(&signer_el, "Competence", max::NAME)?,
            position: self.validated(&signer_el, "Position", Position::parse)?,
            full_name: self.req_text(&signer_el, "FullName", max::NAME)?,
        };
        let to_places = self.text_list(h, "ToPlaces", "Place", max::NAME)?;
        let other = match self.child(h, "OtherInfo") {
            Some(o) => self.other_info(&o)?,
            None => {
                self.tolerate(
                    "MessageHeader/OtherInfo",
                    "missing; priority read as 0 (normal)",
                );
                OtherInfo {
                    priority: Urgency::Normal,
                    sphere_of_promulgation: None,
                    typer_notation: None,
                    promulgation_amount: None,
                    page_amount: None,
                    appendixes: Vec::new(),
                }
            }
        };
        let response_for = self
            .children(h, "ResponseFor")
            .iter()
            .map(|r| self.response_for(r))
            .collect::<Result<Vec<_>, _>>()?;
        let document_id = self.validated(h, "DocumentId", DocumentIdentifier::parse)?;
        Ok(MessageHeader {
            from,
            to,
            document_id,
            code,
            promulgation,
            document_type,
            subject: self.validated(h, "Subject", Summary::parse)?,
            content: self.opt_text(h, "Content", max::CONTENT)?,
            signer,
            due_date: self.opt_date(h, "DueDate")?,
            to_places,
            other,
            response_for,
            steering_type: self
                .opt_number(h, "SteeringType", "a steering type 0 to 255")?
                .unwrap_or(0),
        })
    }

    fn other_info(&self, o: &El) -> Result<OtherInfo, PackageError> {
        let priority = match self.opt_number::<u8>(o, "Priority", "a priority 0 to 4")? {
            Some(p) => Urgency::from_priority(p).map_err(|_| {
                PackageError::invalid(
                    join(&o.path, "Priority"),
                    format!("{p} is not a priority; use 0 (normal) to 4 (hỏa tốc hẹn giờ)"),
                )
            })?,
            None => {
                self.tolerate(&join(&o.path, "Priority"), "missing; read as 0 (normal)");
                Urgency::Normal
            }
        };
        let appendixes = self.text_list(o, "Appendixes", "Appendix", max::REMARK)?;
        Ok(OtherInfo {
            priority,
            sphere_of_promulgation: self.opt_text(o, "SphereOfPromulgation", max::REMARK)?,
            typer_notation: self.opt_text(o, "TyperNotation", max::CONTACT)?,
            promulgation_amount: self.opt_number(o, "PromulgationAmount", "a number of copies")?,
            page_amount: self.opt_number(o, "PageAmount", "a number of pages")?,
            appendixes,
        })
    }

    fn trace_list(&self, list: &El) -> Result<TraceHeaderList, PackageError> {
        let traces = self
            .children(list, "TraceHeader")
            .iter()
            .map(|t| {
                Ok(TraceHeader {
                    organ_id: self.agency_code(t, "OrganId")?,
                    timestamp: self.timestamp(t, "Timestamp")?,
                })
            })
            .collect::<Result<Vec<_>, PackageError>>()?;
        let business = match self.child(list, "Bussiness") {
            Some(b) => self.business(&b)?,
            None => {
                self.tolerate(
                    &join(&list.path, "Bussiness"),
                    "missing; the package is read as a new document",
                );
                new_business()
            }
        };
        Ok(TraceHeaderList { traces, business })
    }

    fn business(&self, b: &El) -> Result<Business, PackageError> {
        let path = join(&b.path, "BussinessDocType");
        let doc_type = match self.opt_number::<u8>(b, "BussinessDocType", "a type 0 to 3")? {
            Some(code) => BusinessDocType::from_code(code).ok_or_else(|| {
                PackageError::invalid(
                    &path,
                    format!("{code} is not a type; use 0 new, 1 revoke, 2 update or 3 replace"),
                )
            })?,
            None => {
                self.tolerate(&path, "missing; read as 0 (a new document)");
                BusinessDocType::New
            }
        };
        let reason = self.opt_text(b, "BussinessDocReason", max::REMARK)?;
        if doc_type != BusinessDocType::New && reason.is_none() {
            self.tolerate(
                &join(&b.path, "BussinessDocReason"),
                "a revoke, update or replace without a reason",
            );
        }
        let receivers = match self.child(b, "ReceiverList") {
            Some(list) => self
                .children(&list, "Receiver")
                .iter()
                .map(|r| {
                    Ok(Receiver {
                        receiver_type: self.opt_number(r, "ReceiverType", "a receiver type")?,
                        organ_id: self.agency_code(r, "OrganId")?,
                    })
                })
                .collect::<Result<Vec<_>, PackageError>>()?,
            None => Vec::new(),
        };
        let replacements = match self.child(b, "ReplacementInfoList") {
            Some(list) => self
                .children(&list, "ReplacementInfo")
                .iter()
                .map(|r| {
                    let organ_ids = match self.child(r, "OrganIdList") {
                        Some(ids) => self
                            .children(&ids, "OrganId")
                            .iter()
                            .map(|id| {
                                let text = id.node.text().unwrap_or("").trim();
                                UnitCode::parse(text)
                                    .map_err(|e| PackageError::invalid(&id.path, e.message))
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                        None => Vec::new(),
                    };
                    Ok(ReplacementInfo {
                        document_id: self.validated(r, "DocumentId", DocumentIdentifier::parse)?,
                        organ_ids,
                    })
                })
                .collect::<Result<Vec<_>, PackageError>>()?,
            None => Vec::new(),
        };
        if doc_type == BusinessDocType::Replace && replacements.is_empty() {
            return Err(PackageError::missing(join(&b.path, "ReplacementInfoList")));
        }
        Ok(Business {
            doc_type,
            reason,
            staff: self
                .child(b, "StaffInfo")
                .map(|s| self.staff(&s))
                .transpose()?,
            receivers,
            replacements,
        })
    }

    fn attachments(
        &self,
        body: Option<&El>,
        files_parent: Option<&El>,
        envelope: &El,
    ) -> Result<Vec<Attachment>, PackageError> {
        // The SDK puts AttachmentEncoded beside the envelope; some senders put it inside.
        let encoded = files_parent
            .and_then(|p| self.child(p, "AttachmentEncoded"))
            .or_else(|| self.child(envelope, "AttachmentEncoded"));
        let files = match &encoded {
            Some(e) => self.children(e, "Attachment"),
            None => Vec::new(),
        };
        let references = body
            .and_then(|b| self.child(b, "edXMLManifest"))
            .map(|m| self.children(&m, "Reference"))
            .unwrap_or_default();
        if references.is_empty() && !files.is_empty() {
            self.tolerate(
                "edXMLBody/edXMLManifest",
                "no manifest references; the attachments are read as encoded",
            );
        }
        let mut out = Vec::with_capacity(files.len());
        for file in &files {
            let content_id = self.req_text(file, "ContentId", max::ATTACHMENT_LABEL)?;
            let content_id = content_id
                .strip_prefix("cid:")
                .unwrap_or(&content_id)
                .to_owned();
            let name = self.req_text(file, "AttachmentName", max::ATTACHMENT_LABEL)?;
            let content_type = match self.opt_text(file, "ContentType", max::ATTACHMENT_LABEL)? {
                Some(t) => t,
                None => {
                    self.tolerate(
                        &join(&file.path, "ContentType"),
                        format!("missing for '{name}'; read as application/octet-stream"),
                    );
                    "application/octet-stream".to_owned()
                }
            };
            let data = self.decode(file, &name)?;
            if out.iter().any(|a: &Attachment| a.content_id == content_id) {
                return Err(PackageError::invalid(
                    join(&file.path, "ContentId"),
                    format!("'{content_id}' names two attachments"),
                ));
            }
            out.push(Attachment {
                content_id,
                name,
                content_type,
                description: self.opt_text(file, "Description", max::REMARK)?,
                data,
            });
        }
        for reference in &references {
            let id = match self.opt_text(reference, "ContentId", max::ATTACHMENT_LABEL + 4)? {
                Some(id) => id,
                None => reference
                    .node
                    .attribute(("http://www.w3.org/1999/xlink", "href"))
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
            };
            let id = id.strip_prefix("cid:").unwrap_or(&id);
            if !out.iter().any(|a| a.content_id == id) {
                return Err(PackageError::missing(format!(
                    "AttachmentEncoded/Attachment with ContentId '{id}' (named by the manifest)"
                )));
            }
        }
        Ok(out)
    }

    /// Decodes an attachment, refusing one beyond the limit before decoding it; line breaks
    /// and spaces in the base64 text (as MIME writes it) are skipped.
    fn decode(&self, file: &El, name: &str) -> Result<Vec<u8>, PackageError> {
        let path = join(&file.path, "ContentTransferEncoded");
        let el = self.req(file, "ContentTransferEncoded")?;
        let text = el.node.text().unwrap_or("");
        let estimated = text.len() / 4 * 3;
        if estimated > self.limits.max_attachment_bytes {
            return Err(PackageError::AttachmentTooLarge {
                name: name.to_owned(),
                size: estimated,
                limit: self.limits.max_attachment_bytes,
            });
        }
        let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if compact.is_empty() {
            return Err(PackageError::missing(path));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|e| PackageError::invalid(&path, format!("not valid base64: {e}")))?;
        if data.len() > self.limits.max_attachment_bytes {
            return Err(PackageError::AttachmentTooLarge {
                name: name.to_owned(),
                size: data.len(),
                limit: self.limits.max_attachment_bytes,
            });
        }
        Ok(data)
    }

    fn status(&self, s: &El) -> Result<StatusPackage, PackageError> {
        let path = join(&s.path, "StatusCode");
        let code = self.req_text(s, "StatusCode", 4)?;
        // Some senders drop the leading zero (`1` for `01`): the code list has no
        // one-digit codes, so nothing is lost.
        let padded = if code.len() == 1 {
            self.tolerate(&path, format!("one-digit code '{code}' read as '0{code}'"));
            format!("0{code}")
        } else {
            code.clone()
        };
        let status: InterchangeStatus = status_from_code(&padded).ok_or_else(|| {
            PackageError::invalid(
                &path,
                format!("'{code}' is not a status code; use 01, 02, 03, 04, 05, 06, 13, 15 or 16"),
            )
        })?;
        Ok(StatusPackage {
            from: self.organ(&self.req(s, "From")?)?,
            response_for: self.response_for(&self.req(s, "ResponseFor")?)?,
            status,
            description: self.opt_text(s, "Description", max::REMARK)?,
            timestamp: self.timestamp(s, "Timestamp")?,
            staff: self
                .child(s, "StaffInfo")
                .map(|x| self.staff(&x))
                .transpose()?,
        })
    }
}

fn new_business() -> Business {
    Business {
        doc_type: BusinessDocType::New,
        reason: None,
        staff: None,
        receivers: Vec::new(),
        replacements: Vec::new(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}/{name}")
    }
}
