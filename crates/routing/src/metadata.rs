//! What a clerk records about an incoming document, each field validated on construction.
//!
//! Limits follow the interchange metadata of Decree 30/2020 Appendix VI: CodeNumber 11
//! characters, CodeNotation 30, OrganName 200, Subject 500.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use vanthu_domain::ValidationError;

/// NFC-normalises and trims `s`, then checks it is 1 to `max_chars` characters without
/// control characters. NFC first, so the same words typed on two keyboards (precomposed or
/// combining diacritics) store alike and count alike.
pub(crate) fn clean_text(
    s: &str,
    field: &'static str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let s: String = s.nfc().collect();
    let s = s.trim();
    if s.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if s.chars().count() > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters long"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters such as line breaks or tabs",
        ));
    }
    Ok(s.to_owned())
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Validates (NFC, trimmed, 1 to `MAX_CHARS` characters, no control characters).
            pub fn parse(s: &str) -> Result<Self, vanthu_domain::ValidationError> {
                $crate::metadata::clean_text(s, $field, Self::MAX_CHARS).map(Self)
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = vanthu_domain::ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use text_newtype;

text_newtype!(
    /// Trích yếu: what the document is about, as its subject line says (Subject, 500).
    Summary,
    "summary",
    500
);
text_newtype!(
    /// The body that issued the document (cơ quan ban hành; OrganName, 200).
    IssuingBody,
    "issuing_body",
    200
);
text_newtype!(
    /// Kind of document (loại văn bản, TypeName): Công văn, Quyết định, Thông báo, ...
    /// Free text, since documents arrive from bodies with types of their own.
    DocumentType,
    "document_type",
    100
);

/// Số, ký hiệu: the document's number and notation as the sender wrote them, e.g.
/// `123/UBND-VP` or `30/2020/NĐ-CP`.
///
/// The number is 1 to 11 digits (CodeNumber); after the first `/` the notation is 1 to 30
/// letters, digits, `-`, `/` and `.` (CodeNotation). Letter case is kept as written:
/// notations mix cases on purpose (`TTr` for tờ trình, `CT-TTg` for a Prime Minister's
/// directive), so upper-casing them would change them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumberNotation {
    text: String,
    slash: usize,
}

impl NumberNotation {
    /// Longest number part, in digits.
    pub const MAX_NUMBER_DIGITS: usize = 11;
    /// Longest notation part, in characters.
    pub const MAX_NOTATION_CHARS: usize = 30;

    /// Validates and normalises (NFC, trimmed).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s: String = s.nfc().collect();
        let s = s.trim();
        let shown: String = s.chars().take(40).collect();
        let invalid = |why: &str| {
            ValidationError::new(
                "number_notation",
                format!(
                    "'{shown}' {why}; write the number, a slash and the notation, e.g. 123/UBND-VP"
                ),
            )
        };
        let Some((number, notation)) = s.split_once('/') else {
            return Err(invalid("has no slash between number and notation"));
        };
        if number.is_empty()
            || number.len() > Self::MAX_NUMBER_DIGITS
            || !number.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid(&format!(
                "does not start with a number of 1 to {} digits",
                Self::MAX_NUMBER_DIGITS
            )));
        }
        let notation_ok = (1..=Self::MAX_NOTATION_CHARS).contains(&notation.chars().count())
            && notation.chars().next().is_some_and(char::is_alphanumeric)
            && notation
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '.'));
        if !notation_ok {
            return Err(invalid(&format!(
                "has no valid notation: 1 to {} letters, digits, '-', '/' or '.' after the \
                 slash, starting with a letter or digit",
                Self::MAX_NOTATION_CHARS
            )));
        }
        Ok(Self {
            text: format!("{number}/{notation}"),
            slash: number.len(),
        })
    }

    /// The whole value, e.g. `123/UBND-VP`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The number part (CodeNumber), e.g. `123`.
    pub fn number(&self) -> &str {
        &self.text[..self.slash]
    }

    /// The notation part (CodeNotation), e.g. `UBND-VP`.
    pub fn notation(&self) -> &str {
        &self.text[self.slash + 1..]
    }
}

impl TryFrom<String> for NumberNotation {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<NumberNotation> for String {
    fn from(v: NumberNotation) -> String {
        v.text
    }
}

impl fmt::Display for NumberNotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Độ khẩn: how fast a document must be handled. The interchange sends it as Priority 0-4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Thường (0).
    Normal,
    /// Khẩn (1).
    Khan,
    /// Thượng khẩn (2).
    ThuongKhan,
    /// Hỏa tốc (3).
    HoaToc,
    /// Hỏa tốc hẹn giờ (4): hỏa tốc with a set delivery time, kept for the interchange.
    HoaTocHenGio,
}

impl Urgency {
    /// Every level, from least to most urgent.
    pub const ALL: [Urgency; 5] = [
        Urgency::Normal,
        Urgency::Khan,
        Urgency::ThuongKhan,
        Urgency::HoaToc,
        Urgency::HoaTocHenGio,
    ];

    /// Stable name, as sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Khan => "khan",
            Urgency::ThuongKhan => "thuong_khan",
            Urgency::HoaToc => "hoa_toc",
            Urgency::HoaTocHenGio => "hoa_toc_hen_gio",
        }
    }

    /// The interchange Priority, 0 to 4; also the stored value, so that sorting by it lists
    /// the most urgent first.
    pub fn priority(self) -> u8 {
        match self {
            Urgency::Normal => 0,
            Urgency::Khan => 1,
            Urgency::ThuongKhan => 2,
            Urgency::HoaToc => 3,
            Urgency::HoaTocHenGio => 4,
        }
    }

    /// The level with this interchange Priority.
    pub fn from_priority(priority: u8) -> Result<Self, ValidationError> {
        Urgency::ALL
            .into_iter()
            .find(|u| u.priority() == priority)
            .ok_or_else(|| ValidationError::new("urgency", "priority must be 0 to 4"))
    }

    /// Whether the document must be presented at once (Art. 23: khẩn and above).
    pub fn is_urgent(self) -> bool {
        self != Urgency::Normal
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Urgency {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Urgency::ALL
            .into_iter()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "urgency",
                    format!(
                        "'{s}' is not an urgency; use normal, khan, thuong_khan, hoa_toc or \
                         hoa_toc_hen_gio"
                    ),
                )
            })
    }
}

/// Everything recorded about an incoming document when it is received (Appendix IV
/// incoming register columns and Appendix VI metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingMetadata {
    /// Who issued it.
    pub issuing_body: IssuingBody,
    /// Its number and notation.
    pub number_notation: NumberNotation,
    /// The date it bears (ngày văn bản).
    pub document_date: NaiveDate,
    /// Its kind.
    pub document_type: DocumentType,
    /// Its subject (trích yếu).
    pub summary: Summary,
    /// How urgent it is.
    pub urgency: Urgency,
    /// The answer the sender asks for by this date, if any (hạn trả lời).
    pub due_date: Option<NaiveDate>,
}

impl IncomingMetadata {
    /// Checks the dates against each other and against `today`, the day of receipt: a
    /// document cannot bear a date after it arrived, nor ask for an answer before its date.
    pub fn check_dates(&self, today: NaiveDate) -> Result<(), ValidationError> {
        if self.document_date > today {
            return Err(ValidationError::new(
                "document_date",
                format!(
                    "{} is after today ({today}); enter the date printed on the document",
                    self.document_date
                ),
            ));
        }
        if let Some(due) = self.due_date.filter(|due| *due < self.document_date) {
            return Err(ValidationError::new(
                "due_date",
                format!(
                    "{due} is before the document's own date {}",
                    self.document_date
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_and_notation_split_and_normalise() {
        let n = NumberNotation::parse(" 123/UBND-VP ").unwrap();
        assert_eq!(
            (n.as_str(), n.number(), n.notation()),
            ("123/UBND-VP", "123", "UBND-VP")
        );
        let decree = NumberNotation::parse("30/2020/NĐ-CP").unwrap();
        assert_eq!(decree.notation(), "2020/NĐ-CP");
        assert_eq!(
            NumberNotation::parse("15/CT-TTg").unwrap().notation(),
            "CT-TTg"
        );
        assert_eq!(
            NumberNotation::parse("12/TTr-UBND").unwrap().as_str(),
            "12/TTr-UBND"
        );
        assert_eq!(NumberNotation::parse("01/QĐ-UBND").unwrap().number(), "01");
        // Decomposed diacritics (as some keyboards type them) store like precomposed ones.
        assert_eq!(
            NumberNotation::parse("5/N\u{0110}-CP").unwrap(),
            NumberNotation::parse("5/NĐ-CP").unwrap()
        );
        for bad in [
            "",
            "123",
            "/UBND",
            "12a/UBND",
            "123/",
            "123/-VP",
            "123/UBND VP",
            "123456789012/UBND",
            &format!("1/{}", "A".repeat(31)),
        ] {
            let e = NumberNotation::parse(bad).unwrap_err();
            assert_eq!(e.field, "number_notation", "{bad}");
            assert!(e.message.contains("123/UBND-VP"), "{}", e.message);
        }
        assert!(NumberNotation::parse(&format!("12345678901/{}", "A".repeat(30))).is_ok());
        let json: NumberNotation = serde_json::from_str("\"7/TB-UBND\"").unwrap();
        assert_eq!(json.number(), "7");
    }

    #[test]
    fn texts_are_bounded_in_characters_not_bytes() {
        assert!(Summary::parse(&"ầ".repeat(500)).is_ok());
        assert_eq!(
            Summary::parse(&"ầ".repeat(501)).unwrap_err().field,
            "summary"
        );
        assert!(IssuingBody::parse(&"Ủ".repeat(200)).is_ok());
        assert!(IssuingBody::parse(&"Ủ".repeat(201)).is_err());
        assert_eq!(Summary::parse("  Về việc  ").unwrap().as_str(), "Về việc");
        assert!(Summary::parse(" \t ").is_err());
        assert!(Summary::parse("a\nb").is_err());
        assert_eq!(DocumentType::parse("").unwrap_err().field, "document_type");
        assert!(serde_json::from_str::<IssuingBody>("\"\"").is_err());
    }

    #[test]
    fn urgency_is_the_interchange_priority() {
        let priorities: Vec<u8> = Urgency::ALL.iter().map(|u| u.priority()).collect();
        assert_eq!(priorities, [0, 1, 2, 3, 4]);
        for u in Urgency::ALL {
            assert_eq!(Urgency::from_priority(u.priority()).unwrap(), u);
            assert_eq!(u.as_str().parse::<Urgency>().unwrap(), u);
            assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{u}\""));
        }
        assert!(Urgency::from_priority(5).is_err());
        assert!("urgent".parse::<Urgency>().is_err());
        assert!(!Urgency::Normal.is_urgent() && Urgency::HoaToc.is_urgent());
        assert!(Urgency::HoaToc > Urgency::Khan);
    }

    #[test]
    fn dates_must_fit_the_day_of_receipt() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut m = IncomingMetadata {
            issuing_body: IssuingBody::parse("UBND tỉnh Vĩnh Phúc").unwrap(),
            number_notation: NumberNotation::parse("123/UBND-VP").unwrap(),
            document_date: day("2026-11-30"),
            document_type: DocumentType::parse("Công văn").unwrap(),
            summary: Summary::parse("Về việc triển khai văn bản điện tử").unwrap(),
            urgency: Urgency::Khan,
            due_date: Some(day("2026-12-10")),
        };
        assert!(m.check_dates(day("2026-12-01")).is_ok());
        assert!(m.check_dates(day("2026-11-30")).is_ok());
        assert_eq!(
            m.check_dates(day("2026-11-29")).unwrap_err().field,
            "document_date"
        );
        m.due_date = Some(day("2026-11-01"));
        assert_eq!(
            m.check_dates(day("2026-12-01")).unwrap_err().field,
            "due_date"
        );
    }
}
