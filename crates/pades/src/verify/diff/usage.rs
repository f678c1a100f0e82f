//! What each object is used for in one revision of a document: a walk of the object graph
//! from the trailer, giving every reachable object the roles it plays (page content, a form
//! field, a widget's appearance, validation data...). Difference analysis judges a changed
//! object by these roles in the signed revision and in the current file, whatever path a
//! later revision uses to reach it.

use std::collections::{HashMap, HashSet};

use crate::pdf::{Dictionary, Object, Reader, Source};

/// Most (object, role) pairs visited; a larger graph is not analysed (judged OTHER).
const MAX_VISITS: usize = 2_000_000;

/// The part an object plays in a revision. Field-related roles carry the object number of
/// the field they belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The document catalog (trailer /Root).
    Catalog,
    /// The document information dictionary (trailer /Info) and what it refers to.
    Info,
    /// A node of the page tree: a /Pages node, a page, or an indirect /Kids array.
    PageTree,
    /// Anything a page shows or inherits, except its annotations: content streams,
    /// resources, fonts, images, form XObjects, optional-content groups...
    PageContent,
    /// An indirect /Annots array of a page.
    AnnotsArray,
    /// An annotation that is not a form field's widget, and what it refers to.
    Annotation,
    /// An appearance stream of such an annotation, and what it uses.
    AnnotationAppearance,
    /// The interactive form dictionary.
    AcroForm,
    /// An indirect /Fields array, or an indirect /Kids array of a field.
    FieldsArray,
    /// A form field dictionary.
    Field(u32),
    /// A widget annotation of this field (a merged field and widget has both roles).
    Widget(u32),
    /// An appearance stream of this field's widgets, and what it uses.
    FieldAppearance(u32),
    /// An indirect value of this (non-signature) field.
    FieldValue(u32),
    /// Another part of this field or widget (actions, appearance characteristics...).
    FieldPart(u32),
    /// A signature dictionary, a field lock or seed value, and what they refer to.
    SignatureValue,
    /// The form's default resources (/DR) and what they refer to.
    FormResources,
    /// The document security store: its dictionary, arrays, VRI entries and the streams
    /// they list.
    Dss,
    /// The catalog's XMP metadata stream.
    Metadata,
    /// Reached from another catalog entry (/Names, /Outlines, /OCProperties, /OpenAction,
    /// /StructTreeRoot...).
    Other,
}

/// A form field as a revision has it.
#[derive(Clone, Debug, Default)]
pub struct FieldInfo {
    /// Fully qualified name.
    pub name: String,
    /// Field type, inherited (`Tx`, `Btn`, `Ch`, `Sig`).
    pub field_type: Option<Vec<u8>>,
    /// A signature field whose value is a signature dictionary.
    pub signed: bool,
}

impl FieldInfo {
    /// A signature field.
    pub fn is_signature(&self) -> bool {
        self.field_type.as_deref() == Some(b"Sig")
    }
}

/// Roles of the objects of one revision.
#[derive(Debug, Default)]
pub struct Usage {
    roles: HashMap<u32, Vec<Role>>,
    /// Field object number -> what the field is.
    pub fields: HashMap<u32, FieldInfo>,
    /// Widget object number -> its field.
    pub widgets: HashMap<u32, u32>,
    /// Field -> its widgets (the reverse of `widgets`).
    field_widgets: HashMap<u32, Vec<u32>>,
    /// Page object number -> page index (0-based).
    pub pages: HashMap<u32, usize>,
    /// Indirect /Annots array -> its page's object number.
    pub annots_pages: HashMap<u32, u32>,
    /// For objects with [`Role::Other`]: the catalog key they were reached from.
    pub other_keys: HashMap<u32, String>,
    /// The walk stopped at its bound: the revision is too large to analyse.
    pub truncated: bool,
    visits: usize,
}

impl Usage {
    /// Walks the revision `r` reads, from its trailer.
    pub fn of<S: Source>(r: &Reader<S>) -> Self {
        let mut u = Usage::default();
        let root = r.trailer().get("Root").and_then(Object::as_reference);
        let catalog = root.and_then(|root| {
            u.tag(root.num, Role::Catalog);
            r.resolve_dict(&Object::Reference(root)).ok()
        });
        if let Some(catalog) = catalog {
            u.catalog(r, &catalog);
        }
        // Last, and only where nothing else reached: /Info never vouches for what is shown.
        if let Some(info) = r.trailer().get("Info") {
            u.walk(r, info, Role::Info, true);
        }
        u
    }

    /// The catalog's entries: pages and form first, so later walks know where the page and
    /// form trees are and stop there.
    fn catalog<S: Source>(&mut self, r: &Reader<S>, catalog: &Dictionary) {
        let page_list = self.page_tree(r, catalog.get("Pages"));
        if let Some(form) = catalog.get("AcroForm") {
            self.form(r, form);
        }
        for (index, (num, page)) in page_list.into_iter().enumerate() {
            self.pages.insert(num, index);
            self.page(r, num, &page);
        }
        if let Some(dss) = catalog.get("DSS") {
            self.dss(r, dss);
        }
        if let Some(m) = catalog.get("Metadata") {
            self.walk(r, m, Role::Metadata, false);
        }
        for (key, value) in catalog.iter() {
            if matches!(
                key,
                b"Type" | b"Pages" | b"AcroForm" | b"DSS" | b"Metadata" | b"Version"
            ) {
                continue;
            }
            let key = String::from_utf8_lossy(key).into_owned();
            for num in self.walk(r, value, Role::Other, true) {
                self.other_keys.entry(num).or_insert_with(|| key.clone());
            }
        }
    }

    /// The roles of an object in this revision (empty when nothing uses it).
    pub fn roles(&self, num: u32) -> &[Role] {
        self.roles.get(&num).map_or(&[], Vec::as_slice)
    }

    /// The widgets of a field.
    pub fn widgets_of(&self, field: u32) -> &[u32] {
        self.field_widgets.get(&field).map_or(&[], Vec::as_slice)
    }

    /// Records a role; false when the object already had it (or the walk is over its bound).
    fn tag(&mut self, num: u32, role: Role) -> bool {
        if self.visits >= MAX_VISITS {
            self.truncated = true;
            return false;
        }
        let roles = self.roles.entry(num).or_default();
        if roles.contains(&role) {
            return false;
        }
        roles.push(role);
        self.visits += 1;
        true
    }

    /// True for objects of the page tree and of the form tree, whose own roles allow some
    /// changes: walks from elsewhere stop at them rather than making them strict.
    fn is_structural(&self, num: u32) -> bool {
        self.roles(num).iter().any(|r| {
            matches!(
                r,
                Role::PageTree
                    | Role::Annotation
                    | Role::AnnotsArray
                    | Role::Field(_)
                    | Role::Widget(_)
                    | Role::FieldsArray
                    | Role::AcroForm
                    | Role::Catalog
            )
        })
    }

    /// Tags everything reachable from `start` with `role`, skipping back-references (/Parent,
    /// /P) and, always, the page and form trees' own nodes. With `only_untagged`, objects that
    /// already have any role are left alone too. Returns the objects newly tagged.
    fn walk<S: Source>(
        &mut self,
        r: &Reader<S>,
        start: &Object,
        role: Role,
        only_untagged: bool,
    ) -> Vec<u32> {
        let mut tagged = Vec::new();
        let mut stack: Vec<Object> = vec![start.clone()];
        while let Some(obj) = stack.pop() {
            match obj {
                Object::Reference(id) => {
                    if self.is_structural(id.num)
                        || (only_untagged && !self.roles(id.num).is_empty())
                        || !self.tag(id.num, role)
                    {
                        continue;
                    }
                    tagged.push(id.num);
                    if let Ok(o) = r.get_shallow(id.num) {
                        stack.push(o);
                    }
                }
                Object::Array(items) => stack.extend(items),
                Object::Dictionary(d) => push_children(&d, &mut stack),
                Object::Stream(s) => push_children(&s.dict, &mut stack),
                _ => {}
            }
        }
        tagged
    }

    /// Tags the page tree's nodes and returns the pages in order, with their dictionaries.
    fn page_tree<S: Source>(
        &mut self,
        r: &Reader<S>,
        root: Option<&Object>,
    ) -> Vec<(u32, Dictionary)> {
        let mut pages = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<Object> = root.into_iter().cloned().collect();
        let mut inherited = Vec::new();
        while let Some(node) = stack.pop() {
            let Some(id) = node.as_reference() else {
                continue;
            };
            if !seen.insert(id.num) || seen.len() > r.limits().max_tree_nodes {
                continue;
            }
            self.tag(id.num, Role::PageTree);
            let Ok(d) = r.resolve_dict(&node) else {
                continue;
            };
            let is_node =
                d.name_is("Type", "Pages") || (!d.name_is("Type", "Page") && d.contains("Kids"));
            if !is_node {
                pages.push((id.num, d));
                continue;
            }
            for (key, value) in d.iter() {
                match key {
                    b"Kids" => {
                        if let Some(k) = value.as_reference() {
                            self.tag(k.num, Role::PageTree);
                        }
                        if let Ok(Object::Array(kids)) = r.resolve(value) {
                            stack.extend(kids.into_iter().rev());
                        }
                    }
                    b"Parent" | b"Type" | b"Count" => {}
                    // Inheritable attributes (Resources, MediaBox...) are page content.
                    _ => inherited.push(value.clone()),
                }
            }
        }
        for value in inherited {
            self.walk(r, &value, Role::PageContent, false);
        }
        pages
    }

    /// A page: its annotations by their kind, everything else as page content.
    fn page<S: Source>(&mut self, r: &Reader<S>, num: u32, page: &Dictionary) {
        for (key, value) in page.iter() {
            match key {
                b"Parent" | b"Type" => {}
                b"Annots" => {
                    if let Some(a) = value.as_reference() {
                        self.tag(a.num, Role::AnnotsArray);
                        self.annots_pages.insert(a.num, num);
                    }
                    if let Ok(Object::Array(annots)) = r.resolve(value) {
                        for a in annots {
                            self.annotation(r, &a);
                        }
                    }
                }
                _ => {
                    self.walk(r, value, Role::PageContent, false);
                }
            }
        }
    }

    /// An annotation in a page's /Annots: a widget of a known field was tagged by the form
    /// walk; anything else (a widget of no field included) is an annotation.
    fn annotation<S: Source>(&mut self, r: &Reader<S>, annot: &Object) {
        let Some(id) = annot.as_reference() else {
            return;
        };
        if self.widgets.contains_key(&id.num) || !self.tag(id.num, Role::Annotation) {
            return;
        }
        let Ok(d) = r.resolve_dict(annot) else { return };
        for (key, value) in d.iter() {
            match key {
                b"P" | b"Parent" | b"IRT" | b"Popup" => {}
                b"AP" => {
                    self.walk(r, value, Role::AnnotationAppearance, false);
                }
                _ => {
                    self.walk(r, value, Role::Annotation, false);
                }
            }
        }
    }

    /// The interactive form: fields, their widgets and appearances, default resources.
    fn form<S: Source>(&mut self, r: &Reader<S>, form: &Object) {
        if let Some(id) = form.as_reference() {
            self.tag(id.num, Role::AcroForm);
        }
        let Ok(d) = r.resolve_dict(form) else { return };
        if let Some(fields) = d.get("Fields") {
            if let Some(id) = fields.as_reference() {
                self.tag(id.num, Role::FieldsArray);
            }
            if let Ok(Object::Array(items)) = r.resolve(fields) {
                let mut seen = HashSet::new();
                for f in items {
                    self.field(r, &f, &ParentField::default(), &mut seen);
                }
            }
        }
        if let Some(dr) = d.get("DR") {
            self.walk(r, dr, Role::FormResources, false);
        }
        for (key, value) in d.iter() {
            if !matches!(
                key,
                b"Fields" | b"DR" | b"DA" | b"Q" | b"NeedAppearances" | b"SigFlags"
            ) {
                self.walk(r, value, Role::Other, true);
            }
        }
    }

    /// One field and its kids: kids with /T are fields, kids without are its widgets.
    fn field<S: Source>(
        &mut self,
        r: &Reader<S>,
        field: &Object,
        parent: &ParentField,
        seen: &mut HashSet<u32>,
    ) {
        let Some(id) = field.as_reference() else {
            return;
        };
        if !seen.insert(id.num) || seen.len() > r.limits().max_tree_nodes {
            return;
        }
        let Ok(d) = r.resolve_dict(field) else { return };
        self.tag(id.num, Role::Field(id.num));
        let partial = d.get("T").and_then(Object::as_string).map(|t| t.to_text());
        let name = match (&partial, parent.name.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{}.{p}", parent.name),
            (None, _) => parent.name.clone(),
        };
        let field_type = d
            .get_name("FT")
            .map(<[u8]>::to_vec)
            .or_else(|| parent.field_type.clone());
        let value = d.get("V").cloned().or_else(|| parent.value.clone());
        let signed = field_type.as_deref() == Some(b"Sig")
            && value.as_ref().is_some_and(|v| r.resolve_dict(v).is_ok());
        self.fields.insert(
            id.num,
            FieldInfo {
                name: name.clone(),
                field_type: field_type.clone(),
                signed,
            },
        );
        let is_sig = field_type.as_deref() == Some(b"Sig");
        let me = ParentField {
            name,
            field_type,
            value: value.clone(),
        };
        if d.name_is("Subtype", "Widget") {
            self.widget(r, id.num, id.num, &d);
        }
        for (key, v) in d.iter() {
            match key {
                b"Kids" => {
                    if let Some(k) = v.as_reference() {
                        self.tag(k.num, Role::FieldsArray);
                    }
                    let Ok(Object::Array(kids)) = r.resolve(v) else {
                        continue;
                    };
                    for kid in kids {
                        let Some(kid_id) = kid.as_reference() else {
                            continue;
                        };
                        match r.resolve_dict(&kid) {
                            Ok(kd) if kd.contains("T") || kd.contains("Kids") => {
                                self.field(r, &kid, &me, seen);
                            }
                            Ok(kd) => {
                                // A widget kid: the field's own value and type apply to it.
                                self.widget(r, id.num, kid_id.num, &kd);
                            }
                            Err(_) => {}
                        }
                    }
                }
                b"V" if is_sig => {
                    self.walk(r, v, Role::SignatureValue, false);
                }
                b"V" => {
                    self.walk(r, v, Role::FieldValue(id.num), false);
                }
                b"Lock" | b"SV" => {
                    self.walk(r, v, Role::SignatureValue, false);
                }
                // The widget half of a merged dictionary was walked above.
                b"Parent" | b"P" | b"AP" | b"T" | b"FT" => {}
                _ => {
                    self.walk(r, v, Role::FieldPart(id.num), false);
                }
            }
        }
    }

    /// A widget of `field`: its appearance streams and other parts.
    fn widget<S: Source>(&mut self, r: &Reader<S>, field: u32, widget: u32, d: &Dictionary) {
        self.tag(widget, Role::Widget(field));
        if self.widgets.insert(widget, field).is_none() {
            self.field_widgets.entry(field).or_default().push(widget);
        }
        if widget == field {
            // A merged field and widget: the field walk handles the other keys.
            if let Some(ap) = d.get("AP") {
                self.walk(r, ap, Role::FieldAppearance(field), false);
            }
            return;
        }
        for (key, value) in d.iter() {
            match key {
                b"P" | b"Parent" => {}
                b"AP" => {
                    self.walk(r, value, Role::FieldAppearance(field), false);
                }
                _ => {
                    self.walk(r, value, Role::FieldPart(field), false);
                }
            }
        }
    }

    /// The DSS dictionary, its arrays and VRI entries, and the items they list (one level:
    /// the items themselves are data, not structures to follow).
    fn dss<S: Source>(&mut self, r: &Reader<S>, dss: &Object) {
        let mut stack = vec![(dss.clone(), 0u8)];
        while let Some((obj, depth)) = stack.pop() {
            if let Some(id) = obj.as_reference() {
                if !self.tag(id.num, Role::Dss) {
                    continue;
                }
            }
            // DSS -> arrays | VRI -> entries -> arrays -> items.
            if depth >= 4 {
                continue;
            }
            let resolved = match obj.as_reference() {
                Some(id) => r.get_shallow(id.num),
                None => Ok(obj),
            };
            match resolved {
                Ok(Object::Dictionary(d)) => {
                    stack.extend(d.iter().map(|(_, v)| (v.clone(), depth + 1)));
                }
                Ok(Object::Array(items)) => {
                    stack.extend(items.into_iter().map(|v| (v, depth + 1)));
                }
                _ => {}
            }
        }
    }
}

/// What a field passes on to its kids.
#[derive(Default)]
struct ParentField {
    name: String,
    field_type: Option<Vec<u8>>,
    value: Option<Object>,
}

/// Pushes the values of a dictionary, except back-references.
fn push_children(d: &Dictionary, stack: &mut Vec<Object>) {
    for (key, value) in d.iter() {
        if !matches!(key, b"Parent" | b"P") {
            stack.push(value.clone());
        }
    }
}
