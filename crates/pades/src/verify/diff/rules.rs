//! The rules that may allow a change made after a signature, in one place. Every change the
//! difference analysis finds is attributed to one rule; a change no rule allows is OTHER.
//! Names follow pyHanko's rule classes where one exists.

use std::fmt;

use crate::verify::report::ModificationLevel;

/// A named rule of the difference analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The new trailer: /Root and /Encrypt never change (a new /Root is a new document).
    Trailer,
    /// The catalog: /DSS, /Metadata, /Extensions, /MarkInfo and /Version may change, and
    /// /AcroForm may be attached or updated; nothing else.
    CatalogModification,
    /// The document information dictionary may be replaced or updated.
    DocInfo,
    /// The XMP metadata stream may be replaced.
    MetadataUpdate,
    /// The document security store, and the streams that only it lists, may grow and change.
    DssCompare,
    /// The form: /Fields may only grow; /DR, /DA, /Q, /SigFlags and /NeedAppearances may
    /// change; the form may not be removed.
    FormUpdating,
    /// New fields after signing must be signature fields that are fields of the form; not
    /// visible on a certified document or under a FieldMDP lock.
    SigFieldCreation,
    /// An empty signature field may be signed; a signed one, its widgets, appearance and
    /// signature dictionary never change.
    SigFieldModification,
    /// A form field's value and appearance may change (/V, /AS, /AP, /MK, /F, /DA, /Q, /Ff).
    GenericFieldModification,
    /// Annotations may be added to a page or changed (within DocMDP P=3).
    Annotation,
    /// A field locked by a signature's FieldMDP transform or its field's /Lock never changes.
    FieldMdp,
    /// Pages and page tree nodes never change, except that a page's /Annots may grow.
    PageTree,
    /// What the signed pages show (content, resources, fonts, images, optional content)
    /// never changes, wherever the new revision reaches it from.
    PageContent,
    /// No rule allows the change.
    NoRule,
}

/// Every rule, in the order the documentation lists them.
pub const RULES: &[Rule] = &[
    Rule::Trailer,
    Rule::CatalogModification,
    Rule::DocInfo,
    Rule::MetadataUpdate,
    Rule::DssCompare,
    Rule::FormUpdating,
    Rule::SigFieldCreation,
    Rule::SigFieldModification,
    Rule::GenericFieldModification,
    Rule::Annotation,
    Rule::FieldMdp,
    Rule::PageTree,
    Rule::PageContent,
    Rule::NoRule,
];

impl Rule {
    /// The rule's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trailer => "TrailerRule",
            Self::CatalogModification => "CatalogModificationRule",
            Self::DocInfo => "DocInfoRule",
            Self::MetadataUpdate => "MetadataUpdateRule",
            Self::DssCompare => "DSSCompareRule",
            Self::FormUpdating => "FormUpdatingRule",
            Self::SigFieldCreation => "SigFieldCreationRule",
            Self::SigFieldModification => "SigFieldModificationRule",
            Self::GenericFieldModification => "GenericFieldModificationRule",
            Self::Annotation => "AnnotationRule",
            Self::FieldMdp => "FieldMDPRule",
            Self::PageTree => "PageTreeRule",
            Self::PageContent => "PageContentRule",
            Self::NoRule => "NoRule",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One change found, with the rule that allowed (or refused) it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// How far the change goes.
    pub level: ModificationLevel,
    /// The rule that judged it.
    pub rule: Rule,
    /// What changed, naming the object.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.level.as_str(), self.rule, self.what)
    }
}
