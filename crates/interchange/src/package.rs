//! What an edXML package carries: the message header, the trace header list and the
//! attachments (QCVN 102:2016; field meanings and lengths from Decree 30/2020 Appendix VI).

use chrono::{DateTime, FixedOffset, NaiveDate};
use vanthu_domain::UnitCode;
use vanthu_routing::{
    DocumentIdentifier, DocumentType, NumberNotation, Position, Summary, Urgency,
};

/// The namespace of every edXML element.
pub const EDXML_NS: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

/// Longest free texts, in characters, where Appendix VI or the format names none: long
/// enough for any real value, short enough that a header cannot carry a file.
pub(crate) mod max {
    /// OrganId: the electronic agency code, `000.00.31.H56`.
    pub const ORGAN_ID: usize = 13;
    /// OrganName, OrganizationInCharge (Appendix VI).
    pub const ORGAN_NAME: usize = 200;
    /// Address, place names, signer's full name, staff names, departments.
    pub const NAME: usize = 200;
    /// E-mail, telephone, fax, website.
    pub const CONTACT: usize = 100;
    /// Content: the document's body text as a summary for the recipient's list.
    pub const CONTENT: usize = 2000;
    /// Reasons, descriptions, sphere of promulgation, appendix titles.
    pub const REMARK: usize = 500;
    /// Attachment names, content types and ids.
    pub const ATTACHMENT_LABEL: usize = 255;
}

/// An agency named in a header (From, To): its code and name, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organ {
    /// OrganId: the electronic agency code.
    pub id: UnitCode,
    /// OrganName (200).
    pub name: String,
    /// OrganizationInCharge: the body it reports to, if given.
    pub in_charge: Option<String>,
    /// OrganAdd: postal address.
    pub address: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Telephone.
    pub telephone: Option<String>,
    /// Fax.
    pub fax: Option<String>,
    /// Website.
    pub website: Option<String>,
}

impl Organ {
    /// An agency known by code and name only.
    pub fn new(id: UnitCode, name: impl Into<String>) -> Self {
        Organ {
            id,
            name: name.into(),
            in_charge: None,
            address: None,
            email: None,
            telephone: None,
            fax: None,
            website: None,
        }
    }
}

/// Where and when the document was promulgated (PromulgationInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromulgationInfo {
    /// Place, e.g. `Vĩnh Phúc`.
    pub place: Option<String>,
    /// PromulgationDate: the document's date (ngày ban hành).
    pub date: NaiveDate,
}

/// The kind of document (DocumentType).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentKind {
    /// Type: the numeric kind from the national list, when the sender gives it.
    pub code: Option<u16>,
    /// TypeName: Công văn, Quyết định, ...
    pub name: DocumentType,
}

/// Who signed, and in what capacity (SignerInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerInfo {
    /// Competence: the authority signed under (TM., KT., ...), if given.
    pub competence: Option<String>,
    /// Position: the title printed under the signature.
    pub position: Position,
    /// FullName.
    pub full_name: String,
}

/// Further facts about the document (OtherInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherInfo {
    /// Priority 0-4: normal, khẩn, thượng khẩn, hỏa tốc, hỏa tốc hẹn giờ.
    pub priority: Urgency,
    /// SphereOfPromulgation: who the document is published to.
    pub sphere_of_promulgation: Option<String>,
    /// TyperNotation: initials of the person who typed it.
    pub typer_notation: Option<String>,
    /// PromulgationAmount: number of copies issued.
    pub promulgation_amount: Option<u32>,
    /// PageAmount: number of pages.
    pub page_amount: Option<u32>,
    /// Appendixes: titles of the appendices.
    pub appendixes: Vec<String>,
}

/// The earlier document a package answers or refers to (ResponseFor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFor {
    /// OrganId of the agency that issued the earlier document.
    pub organ_id: UnitCode,
    /// Code: its number/notation, if given.
    pub code: Option<String>,
    /// PromulgationDate, if given.
    pub promulgation_date: Option<NaiveDate>,
    /// DocumentId: its identifier.
    pub document_id: DocumentIdentifier,
}

/// The document's description (MessageHeader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// From: the issuing agency.
    pub from: Organ,
    /// To: the receiving agencies, one or more.
    pub to: Vec<Organ>,
    /// DocumentId: `OrganId,YYYY/MM/DD,number/notation`; a package received twice is one
    /// document by this identifier.
    pub document_id: DocumentIdentifier,
    /// Code: CodeNumber (11) and CodeNotation (30).
    pub code: NumberNotation,
    /// PromulgationInfo.
    pub promulgation: PromulgationInfo,
    /// DocumentType.
    pub document_type: DocumentKind,
    /// Subject: trích yếu (500).
    pub subject: Summary,
    /// Content, if the sender gives the text.
    pub content: Option<String>,
    /// SignerInfo.
    pub signer: SignerInfo,
    /// DueDate: the answer asked for by this date (hạn trả lời), if any.
    pub due_date: Option<NaiveDate>,
    /// ToPlaces: the recipients as printed under "Nơi nhận".
    pub to_places: Vec<String>,
    /// OtherInfo.
    pub other: OtherInfo,
    /// ResponseFor: earlier documents this one answers.
    pub response_for: Vec<ResponseFor>,
    /// SteeringType: 0 ordinary, 1 a steering document (văn bản chỉ đạo); other values as
    /// sent.
    pub steering_type: u8,
}

/// One hop the package made (TraceHeader): the agency and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// OrganId.
    pub organ_id: UnitCode,
    /// Timestamp, with its offset (packages without one are read as Vietnam time).
    pub timestamp: DateTime<FixedOffset>,
}

/// What the package does to the document (BussinessDocType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusinessDocType {
    /// 0: a new document.
    New,
    /// 1: revokes (thu hồi) an earlier one.
    Revoke,
    /// 2: updates an earlier one.
    Update,
    /// 3: replaces an earlier one.
    Replace,
}

impl BusinessDocType {
    /// The code as sent, 0 to 3.
    pub fn code(self) -> u8 {
        match self {
            BusinessDocType::New => 0,
            BusinessDocType::Revoke => 1,
            BusinessDocType::Update => 2,
            BusinessDocType::Replace => 3,
        }
    }

    /// The type with this code.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            BusinessDocType::New,
            BusinessDocType::Revoke,
            BusinessDocType::Update,
            BusinessDocType::Replace,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }
}

/// The person who acted, as a package names them (StaffInfo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffInfo {
    /// Department.
    pub department: Option<String>,
    /// Staff: their name.
    pub staff: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Email.
    pub email: Option<String>,
}

/// An agency that must receive the package (ReceiverList/Receiver), with the receiver type
/// as sent (1 main, 2 for information).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// ReceiverType, as sent.
    pub receiver_type: Option<u8>,
    /// OrganId.
    pub organ_id: UnitCode,
}

/// The earlier document a replacement stands for, and the agencies that had it
/// (ReplacementInfoList/ReplacementInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacementInfo {
    /// DocumentId of the document replaced.
    pub document_id: DocumentIdentifier,
    /// OrganIdList: the agencies that received it.
    pub organ_ids: Vec<UnitCode>,
}

/// The business part of the trace (Bussiness, spelt as in the standard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Business {
    /// BussinessDocType.
    pub doc_type: BusinessDocType,
    /// BussinessDocReason: why (required for a revoke, update or replace).
    pub reason: Option<String>,
    /// StaffInfo: who sent it.
    pub staff: Option<StaffInfo>,
    /// ReceiverList.
    pub receivers: Vec<Receiver>,
    /// ReplacementInfoList.
    pub replacements: Vec<ReplacementInfo>,
}

/// The route and business of the package (TraceHeaderList).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeaderList {
    /// TraceHeader, one per hop, oldest first.
    pub traces: Vec<TraceHeader>,
    /// Bussiness.
    pub business: Business,
}

/// A file the package carries (Manifest Reference + AttachmentEncoded/Attachment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// ContentId: ties the manifest's reference to the encoded file.
    pub content_id: String,
    /// AttachmentName: the file name.
    pub name: String,
    /// ContentType: its media type.
    pub content_type: String,
    /// Description, if given.
    pub description: Option<String>,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// A whole edXML document package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// MessageHeader.
    pub header: MessageHeader,
    /// TraceHeaderList.
    pub trace: TraceHeaderList,
    /// The attachments, in manifest order.
    pub attachments: Vec<Attachment>,
}
