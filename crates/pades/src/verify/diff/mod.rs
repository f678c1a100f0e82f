//! Difference analysis: what the revisions added after a signature changed, and whether the
//! signature still vouches for what the document shows.
//!
//! The analysis starts from the new trailer (a different /Root is a different document),
//! then looks at every object whose effective definition differs between the signed
//! revision and the current file: objects rewritten or freed by later revisions, objects
//! living in a rewritten object stream, and objects defined by unsigned bytes. Each is judged
//! by every role it plays — in the signed revision ([`Usage`] of the signed revision: page
//! content, a field, its appearance, validation data...) and in the current file — so an
//! object the signed pages use can never become fair game by being listed under /DSS,
//! /Metadata or any other key that may change. Every role must allow the change through a
//! named [`Rule`]; the worst level allowed is the modification level, and a change no rule
//! allows is OTHER.

mod compare;
mod rules;
mod usage;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashSet};

use crate::pdf::{Dictionary, Object, ObjectId, Reader, Source, XrefEntry};

use super::report::{ModificationLevel, ShownChange};
use compare::changed_keys;
pub(crate) use compare::same;
pub use rules::{Change, Rule, RULES};
pub use usage::{FieldInfo, Role, Usage};

/// Field keys a form-filling update may change (pyHanko's VALUE_UPDATE_KEYS plus /MK, the
/// widget's appearance characteristics).
const VALUE_UPDATE_KEYS: &[&str] = &["Ff", "Type", "AP", "AS", "V", "F", "DA", "Q", "MK"];
/// Catalog keys whose change is validation-data housekeeping (pyHanko's
/// ROOT_EXEMPT_STRICT_COMPARISON, less /AcroForm, which has its own rule).
const CATALOG_LTA_KEYS: &[&str] = &["Extensions", "MarkInfo", "Version"];
/// AcroForm keys form filling may change.
const ACROFORM_KEYS: &[&str] = &["DR", "DA", "Q", "SigFlags", "NeedAppearances"];
/// Most changed objects examined; beyond that the update is judged OTHER.
const MAX_CHANGED_OBJECTS: usize = 200_000;
/// Most changes listed in the report.
const MAX_LISTED: usize = 20;
/// Annotation flags that keep an annotation off the page (Hidden, NoView).
const HIDDEN_FLAGS: i64 = 2 | 32;

/// A FieldMDP lock (ISO 32000-1 §12.8.2.4): the fields a signature forbids changing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldLock {
    /// Every field.
    All,
    /// Only these fully qualified field names.
    Include(Vec<String>),
    /// Every field except these.
    Exclude(Vec<String>),
}

impl FieldLock {
    /// Reads a /Lock dictionary or FieldMDP /TransformParams.
    pub fn from_dict(d: &Dictionary) -> Option<Self> {
        let names = || -> Vec<String> {
            d.get("Fields")
                .and_then(Object::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Object::as_string)
                        .map(|s| s.to_text())
                        .collect()
                })
                .unwrap_or_default()
        };
        match d.get_name("Action")? {
            b"All" => Some(Self::All),
            b"Include" => Some(Self::Include(names())),
            b"Exclude" => Some(Self::Exclude(names())),
            _ => None,
        }
    }

    fn locks(&self, field: &str) -> bool {
        match self {
            Self::All => true,
            Self::Include(names) => names.iter().any(|n| n == field),
            Self::Exclude(names) => !names.iter().any(|n| n == field),
        }
    }
}

/// The outcome of the analysis.
#[derive(Debug, Clone)]
pub struct DiffOutcome {
    /// Worst level.
    pub level: ModificationLevel,
    /// The changes, worst first, each naming the rule that judged it.
    pub changes: Vec<String>,
    /// Allowed changes that alter what the page shows.
    pub shown: Vec<ShownChange>,
}

impl DiffOutcome {
    fn other(what: &str) -> Self {
        Self {
            level: ModificationLevel::Other,
            changes: vec![Change {
                level: ModificationLevel::Other,
                rule: Rule::NoRule,
                what: what.into(),
            }
            .to_string()],
            shown: Vec::new(),
        }
    }
}

/// What the signature being judged forbids beyond the general rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct Constraints<'a> {
    /// Its FieldMDP lock, if any.
    pub lock: Option<&'a FieldLock>,
    /// A certification signature covers the signed revision: no new visible signature
    /// fields and no new fields other than signature fields.
    pub certified: bool,
}

/// Analyses what changed between `old` (the signed revision, ending at `signed_end`) and
/// `new` (the whole file, whose object roles are `new_use`).
pub fn analyse<O: Source, N: Source>(
    old: &Reader<O>,
    new: &Reader<N>,
    new_use: &Usage,
    signed_end: u64,
    constraints: Constraints<'_>,
) -> DiffOutcome {
    let old_use = Usage::of(old);
    if old_use.truncated || new_use.truncated {
        return DiffOutcome::other("the document is too large to analyse its changes");
    }
    let changed = changed_objects(old, new, signed_end);
    if changed.len() > MAX_CHANGED_OBJECTS {
        return DiffOutcome::other("too many changed objects to analyse");
    }
    let mut a = Analysis {
        old,
        new,
        old_use: &old_use,
        new_use,
        constraints,
        changes: Vec::new(),
        shown: Vec::new(),
        value_changed: BTreeSet::new(),
        appearance_changed: BTreeSet::new(),
    };
    a.trailer();
    for num in changed {
        a.object(num);
    }
    a.appearance_mismatches();
    a.finish()
}

/// Object numbers whose effective definition differs between the two readers: a different
/// cross-reference entry, a definition in bytes after the signed revision, or a place in an
/// object stream that changed.
fn changed_objects<O: Source, N: Source>(
    old: &Reader<O>,
    new: &Reader<N>,
    signed_end: u64,
) -> Vec<u32> {
    let entry = |e: Option<XrefEntry>| e.filter(|e| !matches!(e, XrefEntry::Free));
    let mut all: BTreeSet<u32> = old.object_numbers().into_iter().collect();
    all.extend(new.object_numbers());
    let mut changed = BTreeSet::new();
    for &num in &all {
        let (o, n) = (entry(old.xref_entry(num)), entry(new.xref_entry(num)));
        let unsigned_bytes =
            matches!(n, Some(XrefEntry::InUse { offset, .. }) if offset >= signed_end);
        if o != n || unsigned_bytes {
            changed.insert(num);
        }
    }
    let in_changed_stream: Vec<u32> = all
        .iter()
        .copied()
        .filter(|num| {
            matches!(entry(new.xref_entry(*num)),
                Some(XrefEntry::Compressed { stream, .. }) if changed.contains(&stream))
        })
        .collect();
    changed.extend(in_changed_stream);
    changed.into_iter().collect()
}

struct Analysis<'a, O: Source, N: Source> {
    old: &'a Reader<O>,
    new: &'a Reader<N>,
    old_use: &'a Usage,
    new_use: &'a Usage,
    constraints: Constraints<'a>,
    changes: Vec<Change>,
    shown: Vec<ShownChange>,
    /// Fields (by object number) whose value changed.
    value_changed: BTreeSet<u32>,
    /// Fields whose appearance (an /AP, /AS or appearance stream) changed.
    appearance_changed: BTreeSet<u32>,
}

impl<O: Source, N: Source> Analysis<'_, O, N> {
    fn note(&mut self, level: ModificationLevel, rule: Rule, what: String) {
        self.changes.push(Change { level, rule, what });
    }

    fn other(&mut self, rule: Rule, what: String) {
        self.note(ModificationLevel::Other, rule, what);
    }

    fn show(&mut self, change: ShownChange) {
        if !self.shown.contains(&change) {
            self.shown.push(change);
        }
    }

    fn finish(mut self) -> DiffOutcome {
        self.changes.sort_by_key(|c| std::cmp::Reverse(c.level));
        let level = self
            .changes
            .first()
            .map_or(ModificationLevel::None, |c| c.level);
        let mut changes: Vec<String> = self.changes.iter().map(Change::to_string).collect();
        changes.dedup();
        changes.truncate(MAX_LISTED);
        DiffOutcome {
            level,
            changes,
            shown: self.shown,
        }
    }

    /// The field an object number stands for: as signed, else as it is now.
    fn field_info(&self, field: u32) -> FieldInfo {
        self.old_use
            .fields
            .get(&field)
            .or_else(|| self.new_use.fields.get(&field))
            .cloned()
            .unwrap_or_default()
    }

    fn locked(&self, name: &str) -> bool {
        self.constraints.lock.is_some_and(|l| l.locks(name))
    }

    /// Refuses any change to a field that a FieldMDP lock or its own signature freezes;
    /// true when it did. `what` names the change ("widget 12 of {field} changed").
    fn refuse_if_frozen(&mut self, info: &FieldInfo, what: impl Fn(&str) -> String) -> bool {
        let (rule, state) = if self.locked(&info.name) {
            (Rule::FieldMdp, "locked")
        } else if info.signed {
            (Rule::SigFieldModification, "signed")
        } else {
            return false;
        };
        self.other(rule, what(&format!("{state} field \"{}\"", info.name)));
        true
    }

    /// A field's value or appearance changed as form filling allows; the page now shows it.
    fn filled(&mut self, field: u32, info: FieldInfo, what: String, appearance: bool) {
        if appearance {
            self.appearance_changed.insert(field);
        }
        self.note(
            ModificationLevel::FormFilling,
            Rule::GenericFieldModification,
            what,
        );
        if !info.is_signature() {
            self.show(ShownChange::FieldFilled { field: info.name });
        }
    }

    /// A page's number (from 1) and how the change list names it.
    fn page_ref(&self, page: u32) -> PageRef {
        match self
            .new_use
            .pages
            .get(&page)
            .or(self.old_use.pages.get(&page))
        {
            Some(i) => PageRef {
                number: Some(i + 1),
                label: format!("page {}", i + 1),
            },
            None => PageRef {
                number: None,
                label: format!("page object {page}"),
            },
        }
    }

    // ---- the trailer ------------------------------------------------------------------------

    fn trailer(&mut self) {
        let (ot, nt) = (self.old.trailer(), self.new.trailer());
        let reference = |d: &Dictionary, key: &str| d.get(key).and_then(Object::as_reference);
        let (old_root, new_root) = (reference(ot, "Root"), reference(nt, "Root"));
        if old_root != new_root {
            let to = new_root.map_or("nothing".into(), |r| format!("object {}", r.num));
            self.other(
                Rule::Trailer,
                format!(
                    "the trailer's /Root now points at {to}: another catalog, another document"
                ),
            );
        }
        let same_entry = |key: &str| match (ot.get(key), nt.get(key)) {
            (None, None) => true,
            (Some(a), Some(b)) => same(a, b),
            _ => false,
        };
        if !same_entry("Encrypt") {
            self.other(Rule::Trailer, "the trailer's /Encrypt changed".into());
        }
        let (old_info, new_info) = (reference(ot, "Info"), reference(nt, "Info"));
        if old_info != new_info {
            let catalog_like = new_info
                .and_then(|r| self.new.resolve_dict(&Object::Reference(r)).ok())
                .is_some_and(|d| d.name_is("Type", "Catalog") || d.contains("Pages"));
            if catalog_like {
                self.other(
                    Rule::Trailer,
                    "the trailer's /Info now points at a catalog".into(),
                );
            } else {
                self.note(
                    ModificationLevel::LtaUpdates,
                    Rule::DocInfo,
                    "the document information dictionary was replaced".into(),
                );
            }
        }
    }

    // ---- one changed object -----------------------------------------------------------------

    fn object(&mut self, num: u32) {
        let (old_roles, new_roles) = (self.old_use.roles(num), self.new_use.roles(num));
        if old_roles.is_empty() && new_roles.is_empty() {
            // Neither revision uses it: nothing it holds can be shown.
            return;
        }
        let (o, n) = match (self.old.get_by_num(num), self.new.get_by_num(num)) {
            (Ok(o), Ok(n)) => (o, n),
            _ => {
                self.other(Rule::NoRule, format!("object {num} cannot be read"));
                return;
            }
        };
        if same(&o, &n) {
            return;
        }
        if matches!(n, Object::Null) && !old_roles.is_empty() {
            self.other(
                Rule::NoRule,
                format!("object {num}, used by the signed revision, was deleted"),
            );
            return;
        }
        // A new object is judged through the existing objects that start to use it; an
        // object the signed revision referred to but lacked is a change like any other.
        let created = matches!(o, Object::Null) && old_roles.is_empty();
        let mut roles: Vec<Role> = old_roles.iter().chain(new_roles).copied().collect();
        roles.sort_unstable();
        roles.dedup();
        // Validation data, metadata and document information may change freely only when
        // that is all the object is: listing a document's object there makes it no fairer game.
        let housekeeping = |r: &Role| matches!(r, Role::Dss | Role::Metadata | Role::Info);
        let listed = roles.iter().copied().find(|r| housekeeping(r));
        let other = roles.iter().copied().find(|r| !housekeeping(r));
        if let (false, Some(listed), Some(other)) = (created, listed, other) {
            let rule = match listed {
                Role::Dss => Rule::DssCompare,
                Role::Metadata => Rule::MetadataUpdate,
                _ => Rule::DocInfo,
            };
            self.other(
                rule,
                format!(
                    "object {num} changed: listed as {} but also {}",
                    role_name(listed),
                    role_name(other)
                ),
            );
        }
        for role in roles {
            self.judge(role, num, &o, &n, created);
        }
    }

    fn judge(&mut self, role: Role, num: u32, o: &Object, n: &Object, created: bool) {
        let (od, nd) = (dict_of(o), dict_of(n));
        match role {
            Role::Catalog if created => {
                self.other(Rule::Trailer, format!("new catalog object {num}"))
            }
            Role::Catalog => self.catalog(num, &od, &nd),
            Role::PageTree if created => {
                self.other(Rule::PageTree, format!("new page or page tree node {num}"))
            }
            Role::PageTree => self.page(num, &od, &nd),
            Role::PageContent => {
                let what = if created { "defined" } else { "changed" };
                self.other(
                    Rule::PageContent,
                    format!("object {num}, part of what the signed pages show, {what}"),
                );
            }
            _ if created => {}
            Role::Info => self.note(
                ModificationLevel::LtaUpdates,
                Rule::DocInfo,
                format!("document information object {num} updated"),
            ),
            Role::Metadata => self.note(
                ModificationLevel::LtaUpdates,
                Rule::MetadataUpdate,
                format!("metadata stream {num} updated"),
            ),
            Role::Dss => self.note(
                ModificationLevel::LtaUpdates,
                Rule::DssCompare,
                format!("validation data object {num} updated"),
            ),
            Role::AnnotsArray => {
                let page = self.annots_owner(num);
                self.annots(Some(o.clone()), Some(n.clone()), &page);
            }
            Role::Annotation | Role::AnnotationAppearance => {
                self.note(
                    ModificationLevel::Annotations,
                    Rule::Annotation,
                    format!("annotation object {num} changed"),
                );
                self.show(ShownChange::AnnotationChanged);
            }
            Role::AcroForm => self.acroform(num, &od, &nd),
            Role::FieldsArray => self.fields_added(Some(o.clone()), Some(n.clone())),
            Role::Field(f) => self.field(f, num, &od, &nd),
            Role::Widget(f) if f != num => self.widget(f, num, &od, &nd),
            // A merged field and widget is judged by the field rule.
            Role::Widget(_) => {}
            Role::FieldAppearance(f) => self.field_part(f, num, true),
            Role::FieldValue(f) => {
                self.value_changed.insert(f);
                self.field_part(f, num, false);
            }
            Role::FieldPart(f) => {
                let info = self.field_info(f);
                self.other(
                    Rule::GenericFieldModification,
                    format!("object {num} of field \"{}\" changed", info.name),
                );
            }
            Role::SignatureValue => self.other(
                Rule::SigFieldModification,
                format!("signature dictionary or lock object {num} changed"),
            ),
            Role::FormResources => self.note(
                ModificationLevel::FormFilling,
                Rule::FormUpdating,
                format!("form default resources object {num} updated"),
            ),
            Role::Other => {
                let key = self
                    .old_use
                    .other_keys
                    .get(&num)
                    .or(self.new_use.other_keys.get(&num))
                    .cloned()
                    .unwrap_or_default();
                self.other(
                    Rule::NoRule,
                    format!("object {num}, reached from the catalog's /{key}, changed"),
                );
            }
        }
    }

    /// The page whose indirect /Annots array is `num`.
    fn annots_owner(&self, num: u32) -> PageRef {
        let page = self
            .new_use
            .annots_pages
            .get(&num)
            .or(self.old_use.annots_pages.get(&num));
        match page {
            Some(p) => self.page_ref(*p),
            None => PageRef {
                number: None,
                label: format!("annotation list {num}"),
            },
        }
    }

    // ---- catalog, form, pages ---------------------------------------------------------------

    fn catalog(&mut self, num: u32, old: &Dictionary, new: &Dictionary) {
        for key in changed_keys(old, new) {
            match key.as_str() {
                "DSS" => self.note(
                    ModificationLevel::LtaUpdates,
                    Rule::DssCompare,
                    "catalog /DSS added or updated".into(),
                ),
                "Metadata" => self.note(
                    ModificationLevel::LtaUpdates,
                    Rule::MetadataUpdate,
                    "catalog /Metadata updated".into(),
                ),
                "AcroForm" => self.catalog_form(old.get("AcroForm"), new.get("AcroForm")),
                k if CATALOG_LTA_KEYS.contains(&k) => self.note(
                    ModificationLevel::LtaUpdates,
                    Rule::CatalogModification,
                    format!("catalog /{k} updated"),
                ),
                k => self.other(
                    Rule::CatalogModification,
                    format!("catalog /{k} changed (object {num})"),
                ),
            }
        }
    }

    fn catalog_form(&mut self, old: Option<&Object>, new: Option<&Object>) {
        let old_form = old.and_then(|o| self.old.resolve_dict(o).ok());
        let new_form = new.and_then(|n| self.new.resolve_dict(n).ok());
        match (old_form, new_form) {
            (Some(_), None) => self.other(
                Rule::FormUpdating,
                "the form (/AcroForm) was removed, and its fields and signatures with it".into(),
            ),
            (None, Some(form)) => {
                self.note(
                    ModificationLevel::FormFilling,
                    Rule::FormUpdating,
                    "a form (/AcroForm) was attached".into(),
                );
                self.fields_added(None, form.get("Fields").cloned());
            }
            (Some(a), Some(b)) => {
                // The same indirect form is judged as an object of its own.
                let same_ref = matches!((old, new),
                    (Some(Object::Reference(x)), Some(Object::Reference(y))) if x == y);
                if !same_ref {
                    self.acroform(0, &a, &b);
                }
            }
            (None, None) => {}
        }
    }

    fn acroform(&mut self, num: u32, old: &Dictionary, new: &Dictionary) {
        for key in changed_keys(old, new) {
            if key == "Fields" {
                self.fields_added(old.get("Fields").cloned(), new.get("Fields").cloned());
            } else if ACROFORM_KEYS.contains(&key.as_str()) {
                if key == "NeedAppearances"
                    && new.get("NeedAppearances") == Some(&Object::Bool(true))
                {
                    self.show(ShownChange::AppearancesRegenerated);
                }
                self.note(
                    ModificationLevel::FormFilling,
                    Rule::FormUpdating,
                    format!("form /{key} updated"),
                );
            } else {
                self.other(
                    Rule::FormUpdating,
                    format!("form /{key} changed (object {num})"),
                );
            }
        }
    }

    fn page(&mut self, num: u32, old: &Dictionary, new: &Dictionary) {
        let page = self.page_ref(num);
        for key in changed_keys(old, new) {
            if key == "Annots" {
                self.annots(
                    old.get("Annots").cloned(),
                    new.get("Annots").cloned(),
                    &page,
                );
            } else {
                self.other(Rule::PageTree, format!("{}: /{key} changed", page.label));
            }
        }
    }

    /// Every old array element kept; returns the added references.
    fn additive(
        &mut self,
        old: Option<Object>,
        new: Option<Object>,
        what: &str,
    ) -> Option<Vec<ObjectId>> {
        let old_refs = refs_of(old.and_then(|o| self.old.resolve(&o).ok()));
        let new_refs = refs_of(new.and_then(|o| self.new.resolve(&o).ok()));
        let new_set: HashSet<ObjectId> = new_refs.iter().copied().collect();
        if old_refs.iter().any(|r| !new_set.contains(r)) {
            let rule = if what.contains("Annots") {
                Rule::Annotation
            } else {
                Rule::FormUpdating
            };
            self.other(rule, format!("entries removed from {what}"));
            return None;
        }
        let old_set: HashSet<ObjectId> = old_refs.into_iter().collect();
        Some(
            new_refs
                .into_iter()
                .filter(|r| !old_set.contains(r))
                .collect(),
        )
    }

    /// Annotations added to a page: a widget must belong to a field of the form to count as
    /// one; anything else is an annotation painting on the page.
    fn annots(&mut self, old: Option<Object>, new: Option<Object>, page_ref: &PageRef) {
        let page = page_ref.label.as_str();
        let Some(added) = self.additive(old, new, &format!("{page} /Annots")) else {
            return;
        };
        for a in added {
            if let Some(&field) = self.new_use.widgets.get(&a.num) {
                let info = self.new_use.fields.get(&field).cloned().unwrap_or_default();
                if self.is_document_timestamp(field) {
                    self.note(
                        ModificationLevel::LtaUpdates,
                        Rule::SigFieldCreation,
                        format!("document time-stamp widget {} placed on {page}", a.num),
                    );
                } else {
                    self.note(
                        ModificationLevel::FormFilling,
                        Rule::SigFieldCreation,
                        format!(
                            "widget {} of field \"{}\" placed on {page}",
                            a.num, info.name
                        ),
                    );
                }
                continue;
            }
            let d = self
                .new
                .resolve_dict(&Object::Reference(a))
                .unwrap_or_default();
            let what = if d.name_is("Subtype", "Widget") {
                format!(
                    "widget {} added to {page} belongs to no form field: an annotation painting on the page",
                    a.num
                )
            } else {
                let subtype = d
                    .get_name("Subtype")
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_else(|| "?".into());
                format!("annotation {} (/{subtype}) added to {page}", a.num)
            };
            self.note(ModificationLevel::Annotations, Rule::Annotation, what);
            self.show(ShownChange::AnnotationAdded {
                page: page_ref.number,
            });
        }
    }

    // ---- fields -----------------------------------------------------------------------------

    /// New entries in /Fields or in a field's /Kids.
    fn fields_added(&mut self, old: Option<Object>, new: Option<Object>) {
        let Some(added) = self.additive(old, new, "the form's fields") else {
            return;
        };
        let mut seen = HashSet::new();
        for f in added {
            self.field_added(f, &mut seen);
        }
    }

    fn field_added(&mut self, f: ObjectId, seen: &mut HashSet<u32>) {
        if !seen.insert(f.num) || seen.len() > 10_000 {
            return;
        }
        if let Some(&field) = self.new_use.widgets.get(&f.num).filter(|w| **w != f.num) {
            // A new widget of an existing field shows its value in one more place.
            let info = self.field_info(field);
            let what = |field: &str| format!("widget {} added to {field}", f.num);
            if !self.refuse_if_frozen(&info, what) {
                let text = what(&format!("field \"{}\"", info.name));
                self.filled(field, info, text, false);
            }
            return;
        }
        let Some(info) = self.new_use.fields.get(&f.num).cloned() else {
            self.other(
                Rule::SigFieldCreation,
                format!("object {} added to the form is not a field", f.num),
            );
            return;
        };
        let d = self
            .new
            .resolve_dict(&Object::Reference(f))
            .unwrap_or_default();
        let sub_fields: Vec<ObjectId> =
            refs_of(d.get("Kids").and_then(|k| self.new.resolve(k).ok()))
                .into_iter()
                .filter(|k| self.new_use.fields.contains_key(&k.num))
                .collect();
        if !sub_fields.is_empty() {
            for k in sub_fields {
                self.field_added(k, seen);
            }
            return;
        }
        let name = info.name.clone();
        if self.is_document_timestamp(f.num) {
            self.note(
                ModificationLevel::LtaUpdates,
                Rule::SigFieldCreation,
                format!("document time-stamp field \"{name}\" added"),
            );
            return;
        }
        if !info.is_signature() {
            self.other(
                Rule::SigFieldCreation,
                format!("non-signature field \"{name}\" added"),
            );
            return;
        }
        let visible = self.is_visible(f.num);
        if visible && self.constraints.certified {
            self.other(
                Rule::SigFieldCreation,
                format!("visible signature field \"{name}\" added to a certified document"),
            );
        } else if visible && self.locked(&name) {
            self.other(
                Rule::FieldMdp,
                format!("visible signature field \"{name}\" added under a lock"),
            );
        } else {
            let state = if info.signed { "signed" } else { "empty" };
            self.note(
                ModificationLevel::FormFilling,
                Rule::SigFieldCreation,
                format!("{state} signature field \"{name}\" added"),
            );
            if visible && !info.signed {
                self.show(ShownChange::SignatureFieldAdded { field: name });
            }
        }
    }

    fn field(&mut self, f: u32, num: u32, old: &Dictionary, new: &Dictionary) {
        let info = self.field_info(f);
        let keys = changed_keys(old, new);
        let listed = keys.join(", ");
        if self.refuse_if_frozen(&info, |field| format!("{field} changed ({listed})")) {
            return;
        }
        let is_sig = info.is_signature();
        for key in &keys {
            if key == "Kids" {
                self.fields_added(old.get("Kids").cloned(), new.get("Kids").cloned());
            } else if !(VALUE_UPDATE_KEYS.contains(&key.as_str()) || (is_sig && key == "Lock")) {
                self.other(
                    Rule::GenericFieldModification,
                    format!("field \"{}\" /{key} changed (object {num})", info.name),
                );
                return;
            }
        }
        let has = |k: &str| keys.iter().any(|x| x == k);
        if has("V") {
            self.value_changed.insert(f);
        }
        let appearance = has("AP") || has("AS");
        if is_sig && has("V") {
            let (level, what) = if self.is_document_timestamp(f) {
                (ModificationLevel::LtaUpdates, "document time-stamp in")
            } else {
                (ModificationLevel::FormFilling, "signature added to")
            };
            self.note(
                level,
                Rule::SigFieldModification,
                format!("{what} field \"{}\" ({listed})", info.name),
            );
        } else if !keys.iter().all(|k| k == "Kids") {
            let text = format!("field \"{}\" updated ({listed})", info.name);
            self.filled(f, info, text, appearance);
            return;
        }
        if appearance {
            self.appearance_changed.insert(f);
        }
    }

    fn widget(&mut self, f: u32, num: u32, old: &Dictionary, new: &Dictionary) {
        let info = self.field_info(f);
        let keys = changed_keys(old, new);
        let listed = keys.join(", ");
        let what = |field: &str| format!("widget {num} of {field} changed ({listed})");
        if self.refuse_if_frozen(&info, what) {
            return;
        }
        let field = format!("field \"{}\"", info.name);
        if keys.iter().all(|k| VALUE_UPDATE_KEYS.contains(&k.as_str())) {
            let appearance = keys.iter().any(|k| k == "AP" || k == "AS");
            let text = format!("widget {num} of {field} updated ({listed})");
            self.filled(f, info, text, appearance);
        } else {
            self.other(Rule::GenericFieldModification, what(&field));
        }
    }

    /// An appearance stream (or an indirect value) of a field changed.
    fn field_part(&mut self, f: u32, num: u32, appearance: bool) {
        let info = self.field_info(f);
        let kind = if appearance { "appearance" } else { "value" };
        if !self.refuse_if_frozen(&info, |field| {
            format!("{kind} object {num} of {field} changed")
        }) {
            let text = format!("{kind} object {num} of field \"{}\" replaced", info.name);
            self.filled(f, info, text, appearance);
        }
    }

    /// A signature field (or the field of a widget) whose value is a document time-stamp.
    fn is_document_timestamp(&self, field: u32) -> bool {
        let Ok(d) = self
            .new
            .resolve_dict(&Object::Reference(ObjectId::new(field, 0)))
        else {
            return false;
        };
        let v = d.get("V").cloned().or_else(|| {
            d.get("Parent")
                .and_then(|p| self.new.resolve_dict(p).ok())
                .and_then(|p| p.get("V").cloned())
        });
        v.and_then(|v| self.new.resolve_dict(&v).ok())
            .is_some_and(|v| v.name_is("Type", "DocTimeStamp"))
    }

    /// A field shows on a page: one of its widgets has a /Rect of non-zero area and is not
    /// hidden.
    fn is_visible(&self, field: u32) -> bool {
        let shows = |num: u32| {
            let Ok(d) = self
                .new
                .resolve_dict(&Object::Reference(ObjectId::new(num, 0)))
            else {
                return false;
            };
            let rect: Vec<f64> = d
                .get("Rect")
                .and_then(|r| self.new.resolve(r).ok())
                .and_then(|r| {
                    r.as_array()
                        .map(|a| a.iter().filter_map(Object::as_f64).collect())
                })
                .unwrap_or_default();
            let hidden = d.get_int("F").is_some_and(|f| f & HIDDEN_FLAGS != 0);
            let area = match rect.as_slice() {
                [x1, y1, x2, y2] => ((x1 - x2) * (y1 - y2)).abs() > 0.0,
                _ => false,
            };
            area && !hidden
        };
        self.new_use
            .widgets_of(field)
            .iter()
            .take(1000)
            .any(|w| shows(*w))
    }

    /// Fields filled in after signing whose appearance does not show their value.
    fn appearance_mismatches(&mut self) {
        let regenerated = self.shown.contains(&ShownChange::AppearancesRegenerated);
        let touched: BTreeSet<u32> = self
            .value_changed
            .union(&self.appearance_changed)
            .copied()
            .collect();
        for f in touched {
            let Some(info) = self.new_use.fields.get(&f).cloned() else {
                continue;
            };
            let mismatch = match info.field_type.as_deref() {
                Some(b"Sig") => false,
                Some(b"Btn") => !self.button_matches(f),
                _ if regenerated => false,
                _ => self.value_changed.contains(&f) != self.appearance_changed.contains(&f),
            };
            if mismatch {
                self.show(ShownChange::AppearanceMismatch { field: info.name });
            }
        }
    }

    /// A check box or radio button shows the state its value names: some widget's /AS is the
    /// value (or every one is /Off when the value is /Off or absent).
    fn button_matches(&self, field: u32) -> bool {
        let resolve = |num: u32| {
            self.new
                .resolve_dict(&Object::Reference(ObjectId::new(num, 0)))
                .unwrap_or_default()
        };
        let value = resolve(field)
            .get_name("V")
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| b"Off".to_vec());
        let states: Vec<Vec<u8>> = self
            .new_use
            .widgets_of(field)
            .iter()
            .take(1000)
            .filter_map(|w| resolve(*w).get_name("AS").map(<[u8]>::to_vec))
            .collect();
        if value == b"Off" {
            states.iter().all(|s| s == b"Off")
        } else {
            states.contains(&value) && states.iter().all(|s| *s == value || s == b"Off")
        }
    }
}

/// How change lines name a role.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Catalog => "the catalog",
        Role::Info => "document information",
        Role::PageTree => "a page",
        Role::PageContent => "page content",
        Role::AnnotsArray => "a page's annotation list",
        Role::Annotation | Role::AnnotationAppearance => "an annotation",
        Role::AcroForm | Role::FieldsArray | Role::FormResources => "part of the form",
        Role::Field(_) | Role::FieldValue(_) | Role::FieldPart(_) => "a form field",
        Role::Widget(_) | Role::FieldAppearance(_) => "a field's widget",
        Role::SignatureValue => "a signature",
        Role::Dss => "validation data",
        Role::Metadata => "metadata",
        Role::Other => "document structure",
    }
}

/// A page as changes name it.
struct PageRef {
    number: Option<usize>,
    label: String,
}

fn dict_of(o: &Object) -> Dictionary {
    match o {
        Object::Dictionary(d) => d.clone(),
        Object::Stream(s) => s.dict.clone(),
        _ => Dictionary::new(),
    }
}

fn refs_of(obj: Option<Object>) -> Vec<ObjectId> {
    obj.and_then(|o| o.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Object::as_reference)
        .collect()
}
