//! Difference analysis of the revisions added after a signature, with named rules in the
//! manner of pyHanko's: every changed object must be explained by a rule, and the worst rule
//! applied gives the modification level. Unexplained changes are OTHER.

use std::collections::{HashMap, HashSet};

use crate::pdf::{Dictionary, Object, ObjectId, Reader, Source};

use super::report::ModificationLevel;

/// Field keys a form-filling update may change (pyHanko's VALUE_UPDATE_KEYS plus /MK, the
/// widget's appearance characteristics).
const VALUE_UPDATE_KEYS: &[&str] = &["Ff", "Type", "AP", "AS", "V", "F", "DA", "Q", "MK"];
/// Catalog keys that may change (pyHanko's ROOT_EXEMPT_STRICT_COMPARISON).
const ROOT_EXEMPT: &[&str] = &[
    "AcroForm",
    "DSS",
    "Extensions",
    "Metadata",
    "MarkInfo",
    "Version",
];
/// AcroForm keys that may change.
const ACROFORM_EXEMPT: &[&str] = &["Fields", "DR", "DA", "Q", "NeedAppearances", "SigFlags"];
/// Most changed objects examined; beyond that the update is judged OTHER.
const MAX_CHANGED_OBJECTS: usize = 200_000;
/// Most changes listed in the report.
const MAX_LISTED: usize = 20;
/// Recursion bound for structural comparison (the parser already bounds nesting).
const MAX_COMPARE_DEPTH: usize = 96;

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
    /// Descriptions of the changes, worst first.
    pub changes: Vec<String>,
}

/// What each object is, in one revision of the document.
/// What each object is (catalog, form, field, widget, page, DSS...) in one revision; computed
/// once for the whole file and once per signed revision.
#[derive(Default, Debug)]
pub struct Roles {
    catalog: Option<u32>,
    info: Option<u32>,
    acroform: Option<u32>,
    fields_array: Option<u32>,
    metadata: Option<u32>,
    dss: HashSet<u32>,
    /// Terminal field object number -> is a signature field.
    /// Terminal field object number -> (is a signature field, fully qualified name).
    fields: HashMap<u32, (bool, String)>,
    widgets: HashSet<u32>,
    pages: HashSet<u32>,
    annots_arrays: HashSet<u32>,
    ap_streams: HashSet<u32>,
}

fn ref_num(obj: Option<&Object>) -> Option<u32> {
    obj.and_then(Object::as_reference).map(|r| r.num)
}

impl Roles {
    /// Walks the catalog, AcroForm, DSS and page tree of `r`.
    pub fn of<S: Source>(r: &Reader<S>) -> Self {
        let mut roles = Roles {
            catalog: ref_num(r.trailer().get("Root")),
            info: ref_num(r.trailer().get("Info")),
            ..Roles::default()
        };
        let Ok((_, catalog)) = r.catalog() else {
            return roles;
        };
        roles.metadata = ref_num(catalog.get("Metadata"));
        if let Some(form) = catalog.get("AcroForm") {
            roles.acroform = ref_num(Some(form));
            if let Ok(d) = r.resolve_dict(form) {
                roles.fields_array = ref_num(d.get("Fields"));
            }
        }
        if let Some(dss) = catalog.get("DSS") {
            roles.collect_dss(r, dss);
        }
        if let Ok(fields) = r.fields() {
            for f in fields {
                let is_sig = f.field_type.as_deref() == Some(b"Sig");
                roles.fields.insert(f.id.num, (is_sig, f.name.clone()));
                let mut widgets = Vec::new();
                if f.dict.name_is("Subtype", "Widget") {
                    widgets.push((f.id, f.dict.clone()));
                }
                if let Some(kids) = f.dict.get("Kids").and_then(|k| r.resolve(k).ok()) {
                    for k in kids
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Object::as_reference)
                    {
                        if let Ok(d) = r.resolve_dict(&Object::Reference(k)) {
                            widgets.push((k, d));
                        }
                    }
                }
                for (id, w) in widgets {
                    roles.widgets.insert(id.num);
                    roles.collect_ap(r, &w);
                }
            }
        }
        if let Ok(pages) = r.pages() {
            for p in pages {
                roles.pages.insert(p.num);
                if let Ok(d) = r.resolve_dict(&Object::Reference(p)) {
                    if let Some(n) = ref_num(d.get("Annots")) {
                        roles.annots_arrays.insert(n);
                    }
                }
            }
        }
        roles
    }

    fn collect_ap<S: Source>(&mut self, r: &Reader<S>, widget: &Dictionary) {
        let Some(ap) = widget.get("AP").and_then(|a| r.resolve_dict(a).ok()) else {
            return;
        };
        for key in ["N", "R", "D"] {
            let Some(v) = ap.get(key) else { continue };
            if let Some(n) = ref_num(Some(v)) {
                self.ap_streams.insert(n);
            }
            // A state dictionary (/On, /Off) maps states to streams.
            if let Ok(Object::Dictionary(states)) = r.resolve(v) {
                self.ap_streams
                    .extend(states.iter().filter_map(|(_, s)| ref_num(Some(s))));
            }
        }
    }

    fn collect_dss<S: Source>(&mut self, r: &Reader<S>, dss: &Object) {
        if let Some(n) = ref_num(Some(dss)) {
            self.dss.insert(n);
        }
        let Ok(d) = r.resolve_dict(dss) else { return };
        for key in ["Certs", "CRLs", "OCSPs", "VRI"] {
            let Some(v) = d.get(key) else { continue };
            if let Some(n) = ref_num(Some(v)) {
                self.dss.insert(n);
            }
            match r.resolve(v) {
                Ok(Object::Array(items)) => {
                    self.dss
                        .extend(items.iter().filter_map(|i| ref_num(Some(i))));
                }
                Ok(Object::Dictionary(vri)) => {
                    for (_, entry) in vri.iter() {
                        if let Some(n) = ref_num(Some(entry)) {
                            self.dss.insert(n);
                        }
                        if let Ok(e) = r.resolve_dict(entry) {
                            for (_, arr) in e.iter() {
                                if let Some(n) = ref_num(Some(arr)) {
                                    self.dss.insert(n);
                                }
                                if let Ok(Object::Array(items)) = r.resolve(arr) {
                                    self.dss
                                        .extend(items.iter().filter_map(|i| ref_num(Some(i))));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Order-insensitive structural equality of PDF objects.
pub(crate) fn same(a: &Object, b: &Object) -> bool {
    same_at(a, b, 0)
}

fn same_at(a: &Object, b: &Object, depth: usize) -> bool {
    if depth > MAX_COMPARE_DEPTH {
        return false;
    }
    match (a, b) {
        (Object::Dictionary(x), Object::Dictionary(y)) => same_dict(x, y, depth + 1),
        (Object::Stream(x), Object::Stream(y)) => {
            x.data == y.data && same_dict_except(&x.dict, &y.dict, &["Length"], depth + 1)
        }
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_at(p, q, depth + 1))
        }
        (Object::Integer(x), Object::Real(y)) | (Object::Real(y), Object::Integer(x)) => {
            (*x as f64) == *y
        }
        (Object::String(x), Object::String(y)) => x.bytes == y.bytes,
        _ => a == b,
    }
}

fn same_dict(x: &Dictionary, y: &Dictionary, depth: usize) -> bool {
    same_dict_except(x, y, &[], depth)
}

fn same_dict_except(x: &Dictionary, y: &Dictionary, ignore: &[&str], depth: usize) -> bool {
    let skip = |k: &[u8]| ignore.iter().any(|i| i.as_bytes() == k);
    let count = |d: &Dictionary| {
        d.iter()
            .filter(|(k, v)| !skip(k) && !matches!(v, Object::Null))
            .count()
    };
    count(x) == count(y)
        && x.iter()
            .filter(|(k, v)| !skip(k) && !matches!(v, Object::Null))
            .all(|(k, v)| {
                y.iter()
                    .find(|(k2, _)| *k2 == k)
                    .is_some_and(|(_, w)| same_at(v, w, depth))
            })
}

/// Keys whose values differ (present in one only, or different).
fn changed_keys(old: &Dictionary, new: &Dictionary) -> Vec<String> {
    let mut keys: Vec<Vec<u8>> = old.iter().map(|(k, _)| k.to_vec()).collect();
    for (k, _) in new.iter() {
        if !keys.iter().any(|x| x == k) {
            keys.push(k.to_vec());
        }
    }
    keys.into_iter()
        .filter(|k| {
            // Raw byte keys: a lossy conversion could make two different keys look alike.
            let (a, b) = (raw_get(old, k), raw_get(new, k));
            match (a, b) {
                (Some(a), Some(b)) => !same(a, b),
                (None, None) => false,
                (Some(v), None) | (None, Some(v)) => !matches!(v, Object::Null),
            }
        })
        .map(|k| String::from_utf8_lossy(&k).into_owned())
        .collect()
}

fn raw_get<'a>(d: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    d.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn refs_of(obj: Option<Object>) -> Vec<ObjectId> {
    obj.and_then(|o| o.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Object::as_reference)
        .collect()
}

struct Analysis<'a, O: Source, N: Source> {
    old: &'a Reader<O>,
    new: &'a Reader<N>,
    lock: Option<&'a FieldLock>,
    /// A certification signature is in force: no new visible signature fields.
    certified: bool,
    changes: Vec<(ModificationLevel, String)>,
}

impl<O: Source, N: Source> Analysis<'_, O, N> {
    fn note(&mut self, level: ModificationLevel, text: String) {
        self.changes.push((level, text));
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
        if old_refs.iter().any(|r| !new_refs.contains(r)) {
            self.note(
                ModificationLevel::Other,
                format!("OTHER: entries removed from {what}"),
            );
            return None;
        }
        Some(
            new_refs
                .into_iter()
                .filter(|r| !old_refs.contains(r))
                .collect(),
        )
    }

    fn catalog(&mut self, num: u32, old: &Dictionary, new: &Dictionary) {
        for key in changed_keys(old, new) {
            if !ROOT_EXEMPT.contains(&key.as_str()) {
                self.note(
                    ModificationLevel::Other,
                    format!(
                        "OTHER: CatalogModificationRule: catalog /{key} changed (object {num})"
                    ),
                );
                continue;
            }
            if key == "AcroForm" {
                match (old.get("AcroForm"), new.get("AcroForm")) {
                    (Some(Object::Dictionary(a)), Some(Object::Dictionary(b))) => {
                        self.acroform(num, a, b)
                    }
                    _ => self.note(
                        ModificationLevel::FormFilling,
                        "FORM_FILLING: FormUpdatingRule: AcroForm attached".into(),
                    ),
                }
            } else {
                self.note(
                    ModificationLevel::LtaUpdates,
                    format!("LTA_UPDATES: CatalogModificationRule: /{key} updated"),
                );
            }
        }
    }

    fn acroform(&mut self, num: u32, old: &Dictionary, new: &Dictionary) {
        for key in changed_keys(old, new) {
            if !ACROFORM_EXEMPT.contains(&key.as_str()) {
                self.note(
                    ModificationLevel::Other,
                    format!("OTHER: FormUpdatingRule: AcroForm /{key} changed (object {num})"),
                );
            } else if key == "Fields" {
                self.fields_added(old.get("Fields").cloned(), new.get("Fields").cloned());
            } else {
                self.note(
                    ModificationLevel::FormFilling,
                    format!("FORM_FILLING: FormUpdatingRule: AcroForm /{key} updated"),
                );
            }
        }
    }

    fn field(&mut self, num: u32, is_sig: bool, name: &str, old: &Dictionary, new: &Dictionary) {
        let keys = changed_keys(old, new);
        if self.lock.is_some_and(|l| l.locks(name)) {
            self.note(
                ModificationLevel::Other,
                format!(
                    "OTHER: FieldMDP: locked field \"{name}\" changed ({})",
                    keys.join(", ")
                ),
            );
            return;
        }
        if is_sig && old.get("V").is_some_and(|v| !matches!(v, Object::Null)) {
            self.note(
                ModificationLevel::Other,
                format!(
                    "OTHER: SigFieldModificationRule: signed field {num} changed ({})",
                    keys.join(", ")
                ),
            );
            return;
        }
        let mut level = ModificationLevel::FormFilling;
        for key in &keys {
            if key == "Kids" {
                self.additive(
                    old.get("Kids").cloned(),
                    new.get("Kids").cloned(),
                    "field /Kids",
                );
            } else if !(VALUE_UPDATE_KEYS.contains(&key.as_str()) || (is_sig && key == "Lock")) {
                self.note(
                    ModificationLevel::Other,
                    format!("OTHER: GenericFieldModificationRule: field {num} /{key} changed"),
                );
                return;
            }
        }
        if is_sig && keys.iter().any(|k| k == "V") {
            let doc_ts = new
                .get("V")
                .and_then(|v| self.new.resolve_dict(v).ok())
                .is_some_and(|d| d.name_is("Type", "DocTimeStamp"));
            if doc_ts {
                level = ModificationLevel::LtaUpdates;
            }
        }
        let rule = if is_sig {
            "SigFieldModificationRule"
        } else {
            "GenericFieldModificationRule"
        };
        let label = if level == ModificationLevel::LtaUpdates {
            "LTA_UPDATES"
        } else {
            "FORM_FILLING"
        };
        self.note(
            level,
            format!("{label}: {rule}: field {num} updated ({})", keys.join(", ")),
        );
    }

    fn page(&mut self, num: u32, old: &Dictionary, new: &Dictionary) {
        for key in changed_keys(old, new) {
            if key != "Annots" {
                self.note(
                    ModificationLevel::Other,
                    format!("OTHER: page object {num}: /{key} changed"),
                );
                continue;
            }
            self.annots(old.get("Annots").cloned(), new.get("Annots").cloned(), num);
        }
    }

    fn annots(&mut self, old: Option<Object>, new: Option<Object>, page: u32) {
        let Some(added) = self.additive(old, new, "page /Annots") else {
            return;
        };
        for a in added {
            let dict = self
                .new
                .resolve_dict(&Object::Reference(a))
                .unwrap_or_default();
            if self.is_document_timestamp_field(&dict) {
                self.note(ModificationLevel::LtaUpdates, format!("LTA_UPDATES: SigFieldCreationRule: document time-stamp widget {} added to page object {page}", a.num));
            } else if dict.name_is("Subtype", "Widget") {
                self.note(
                    ModificationLevel::FormFilling,
                    format!(
                        "FORM_FILLING: SigFieldCreationRule: widget {} added to page object {page}",
                        a.num
                    ),
                );
            } else {
                self.note(
                    ModificationLevel::Annotations,
                    format!(
                        "ANNOTATIONS: annotation {} added to page object {page}",
                        a.num
                    ),
                );
            }
        }
    }

    /// New entries in /Fields: document time-stamp fields are LTA updates, others form filling.
    fn fields_added(&mut self, old: Option<Object>, new: Option<Object>) {
        let Some(added) = self.additive(old, new, "/Fields") else {
            return;
        };
        for f in added {
            let dict = self
                .new
                .resolve_dict(&Object::Reference(f))
                .unwrap_or_default();
            let name = dict
                .get("T")
                .and_then(Object::as_string)
                .map(|t| t.to_text())
                .unwrap_or_default();
            let visible = self.is_visible(&dict);
            if self.is_document_timestamp_field(&dict) {
                self.note(
                    ModificationLevel::LtaUpdates,
                    format!(
                        "LTA_UPDATES: SigFieldCreationRule: document time-stamp field {} added",
                        f.num
                    ),
                );
            } else if !dict.name_is("FT", "Sig") {
                // Only signature fields may be created after signing (pyHanko's rule too).
                self.note(
                    ModificationLevel::Other,
                    format!("OTHER: SigFieldCreationRule: non-signature field \"{name}\" added"),
                );
            } else if visible && self.certified {
                self.note(
                    ModificationLevel::Other,
                    format!("OTHER: SigFieldCreationRule: visible signature field \"{name}\" added to a certified document"),
                );
            } else if visible && self.lock.is_some_and(|l| l.locks(&name)) {
                self.note(
                    ModificationLevel::Other,
                    format!(
                        "OTHER: FieldMDP: visible signature field \"{name}\" added under a lock"
                    ),
                );
            } else {
                self.note(
                    ModificationLevel::FormFilling,
                    format!("FORM_FILLING: SigFieldCreationRule: signature field \"{name}\" added"),
                );
            }
        }
    }

    /// A field shows on a page: its widget (itself or a kid) has a /Rect of non-zero area.
    fn is_visible(&self, field: &Dictionary) -> bool {
        let area = |d: &Dictionary| {
            let rect: Vec<f64> = d
                .get("Rect")
                .and_then(|r| self.new.resolve(r).ok())
                .and_then(|r| {
                    r.as_array()
                        .map(|a| a.iter().filter_map(Object::as_f64).collect())
                })
                .unwrap_or_default();
            match rect.as_slice() {
                [x1, y1, x2, y2] => ((x1 - x2) * (y1 - y2)).abs() > 0.0,
                _ => false,
            }
        };
        area(field)
            || refs_of(field.get("Kids").and_then(|k| self.new.resolve(k).ok()))
                .into_iter()
                .take(1000)
                .any(|k| {
                    self.new
                        .resolve_dict(&Object::Reference(k))
                        .is_ok_and(|d| area(&d))
                })
    }

    /// A signature field (or its widget) whose value is a document time-stamp.
    fn is_document_timestamp_field(&self, dict: &Dictionary) -> bool {
        let field = match dict.get("Parent") {
            Some(p) if !dict.contains("FT") => self.new.resolve_dict(p).unwrap_or_default(),
            _ => dict.clone(),
        };
        field.name_is("FT", "Sig")
            && field
                .get("V")
                .and_then(|v| self.new.resolve_dict(v).ok())
                .is_some_and(|v| v.name_is("Type", "DocTimeStamp"))
    }
}

/// Analyses what changed between `old` (the signed revision) and `new` (the whole file, whose
/// roles are `new_roles`), looking at the objects written by revisions that end after
/// `signed_end`; fields under `lock` may not change at all, and when `certified` (a
/// certification signature covers the signed revision) no visible signature field may appear.
pub fn analyse<O: Source, N: Source>(
    old: &Reader<O>,
    new: &Reader<N>,
    new_roles: &Roles,
    signed_end: u64,
    lock: Option<&FieldLock>,
    certified: bool,
) -> DiffOutcome {
    let mut changed: Vec<u32> = Vec::new();
    let mut seen = HashSet::new();
    for rev in new.revisions().iter().filter(|r| r.end > signed_end) {
        for n in rev
            .objects
            .iter()
            .map(|(n, _)| *n)
            .chain(rev.freed.iter().copied())
        {
            if seen.insert(n) {
                changed.push(n);
            }
        }
    }
    if changed.is_empty() {
        return DiffOutcome {
            level: ModificationLevel::None,
            changes: vec![],
        };
    }
    if changed.len() > MAX_CHANGED_OBJECTS {
        return DiffOutcome {
            level: ModificationLevel::Other,
            changes: vec!["OTHER: too many changed objects to analyse".into()],
        };
    }
    let old_roles = Roles::of(old);
    let mut a = Analysis {
        lock,
        certified,
        old,
        new,
        changes: Vec::new(),
    };
    for num in changed {
        let (Ok(o), Ok(n)) = (old.get_by_num(num), new.get_by_num(num)) else {
            a.note(
                ModificationLevel::Other,
                format!("OTHER: object {num} cannot be read"),
            );
            continue;
        };
        if same(&o, &n) {
            continue;
        }
        match (&o, &n) {
            // New objects matter only through the existing objects that start referring to them.
            (Object::Null, _) => continue,
            (_, Object::Null) => {
                a.note(
                    ModificationLevel::Other,
                    format!("OTHER: object {num} deleted"),
                );
                continue;
            }
            _ => {}
        }
        let od = match &o {
            Object::Dictionary(d) => Some(d.clone()),
            Object::Stream(s) => Some(s.dict.clone()),
            _ => None,
        };
        let nd = match &n {
            Object::Dictionary(d) => Some(d.clone()),
            Object::Stream(s) => Some(s.dict.clone()),
            _ => None,
        };
        let is = |f: &dyn Fn(&Roles) -> bool| f(&old_roles) || f(new_roles);
        let typed = |t: &str| od.as_ref().is_some_and(|d| d.name_is("Type", t));
        if typed("XRef") || typed("ObjStm") {
            a.note(
                ModificationLevel::LtaUpdates,
                format!("LTA_UPDATES: XrefStreamRule/ObjectStreamRule: object {num}"),
            );
        } else if is(&|r| r.catalog == Some(num)) {
            if let (Some(od), Some(nd)) = (&od, &nd) {
                a.catalog(num, od, nd);
            }
        } else if is(&|r| r.info == Some(num)) {
            a.note(
                ModificationLevel::LtaUpdates,
                format!("LTA_UPDATES: DocInfoRule: object {num}"),
            );
        } else if is(&|r| r.metadata == Some(num)) {
            a.note(
                ModificationLevel::LtaUpdates,
                format!("LTA_UPDATES: MetadataUpdateRule: object {num}"),
            );
        } else if is(&|r| r.dss.contains(&num)) {
            a.note(
                ModificationLevel::LtaUpdates,
                format!("LTA_UPDATES: DSSCompareRule: object {num}"),
            );
        } else if is(&|r| r.acroform == Some(num)) {
            if let (Some(od), Some(nd)) = (&od, &nd) {
                a.acroform(num, od, nd);
            }
        } else if is(&|r| r.fields_array == Some(num)) {
            a.fields_added(Some(o.clone()), Some(n.clone()));
        } else if let Some((is_sig, name)) = old_roles
            .fields
            .get(&num)
            .or(new_roles.fields.get(&num))
            .cloned()
        {
            if let (Some(od), Some(nd)) = (&od, &nd) {
                a.field(num, is_sig, &name, od, nd);
            }
        } else if is(&|r| r.widgets.contains(&num)) {
            let keys = changed_keys(
                od.as_ref().unwrap_or(&Dictionary::new()),
                nd.as_ref().unwrap_or(&Dictionary::new()),
            );
            if keys.iter().all(|k| VALUE_UPDATE_KEYS.contains(&k.as_str())) {
                a.note(
                    ModificationLevel::FormFilling,
                    format!("FORM_FILLING: widget {num} appearance updated"),
                );
            } else {
                a.note(
                    ModificationLevel::Other,
                    format!("OTHER: widget {num} changed ({})", keys.join(", ")),
                );
            }
        } else if is(&|r| r.pages.contains(&num)) {
            if let (Some(od), Some(nd)) = (&od, &nd) {
                a.page(num, od, nd);
            }
        } else if is(&|r| r.annots_arrays.contains(&num)) {
            a.annots(Some(o.clone()), Some(n.clone()), num);
        } else if is(&|r| r.ap_streams.contains(&num)) {
            a.note(
                ModificationLevel::FormFilling,
                format!("FORM_FILLING: appearance stream {num} replaced"),
            );
        } else if od.as_ref().is_some_and(|d| {
            d.name_is("Type", "Annot") || (d.contains("Subtype") && d.contains("Rect"))
        }) {
            a.note(
                ModificationLevel::Annotations,
                format!("ANNOTATIONS: annotation {num} changed"),
            );
        } else {
            a.note(
                ModificationLevel::Other,
                format!("OTHER: object {num} changed and no rule allows it"),
            );
        }
    }
    a.changes.sort_by_key(|c| std::cmp::Reverse(c.0));
    let level = a
        .changes
        .first()
        .map(|c| c.0)
        .unwrap_or(ModificationLevel::None);
    let mut changes: Vec<String> = a.changes.into_iter().map(|c| c.1).collect();
    changes.dedup();
    changes.truncate(MAX_LISTED);
    DiffOutcome { level, changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::PdfString;

    #[test]
    fn structural_equality_ignores_key_order_and_stream_length() {
        let mut a = Dictionary::new();
        a.set("A", Object::Integer(1));
        a.set("B", Object::String(PdfString::literal("x")));
        let mut b = Dictionary::new();
        b.set("B", Object::String(PdfString::hex("x")));
        b.set("A", Object::Real(1.0));
        assert!(same(
            &Object::Dictionary(a.clone()),
            &Object::Dictionary(b.clone())
        ));
        b.set("C", Object::Null);
        assert!(same(
            &Object::Dictionary(a.clone()),
            &Object::Dictionary(b.clone())
        ));
        b.set("A", Object::Integer(2));
        assert!(!same(
            &Object::Dictionary(a.clone()),
            &Object::Dictionary(b.clone())
        ));
        assert_eq!(changed_keys(&a, &b), vec!["A".to_string()]);
    }
}
