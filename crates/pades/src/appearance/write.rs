//! Lowering an [`Appearance`] into the incremental writer's objects.

use crate::pdf::{Dictionary, IncrementalUpdate, Object as PdfObject, ObjectId, PdfString, Stream};

use super::object::{Object, Value};
use super::Appearance;

impl Appearance {
    /// Adds the appearance stream and its resources to `update` as new objects and returns
    /// the id of the form XObject, for the widget's `/AP << /N id >>`.
    pub fn add_to(&self, update: &mut IncrementalUpdate) -> ObjectId {
        let objects = self.objects();
        let ids: Vec<ObjectId> = objects.iter().map(|_| update.allocate()).collect();
        for (object, id) in lower_objects(&objects, &ids).into_iter().zip(&ids) {
            update.set(*id, object);
        }
        ids[0]
    }
}

/// The PDF layer's objects for an object list such as [`Appearance::objects`] or
/// [`super::FontResource::push_objects`] builds: entry `i` becomes the object to be written
/// as `ids[i]`, its [`Value::Ref`]s resolved through `ids` (one id per entry).
pub fn lower_objects(objects: &[Object], ids: &[ObjectId]) -> Vec<PdfObject> {
    objects.iter().map(|o| lower_object(o, ids)).collect()
}

fn lower_object(object: &Object, ids: &[ObjectId]) -> PdfObject {
    let dict = lower_dict(&object.dict, ids);
    match &object.stream {
        Some(data) => PdfObject::Stream(Stream {
            dict,
            data: data.clone(),
        }),
        None => PdfObject::Dictionary(dict),
    }
}

fn lower_dict(dict: &super::object::Dict, ids: &[ObjectId]) -> Dictionary {
    let mut out = Dictionary::new();
    for (key, value) in &dict.0 {
        out.set(key, lower_value(value, ids));
    }
    out
}

fn lower_value(value: &Value, ids: &[ObjectId]) -> PdfObject {
    match value {
        Value::Integer(i) => PdfObject::Integer(*i),
        Value::Real(r) => PdfObject::Real(f64::from(*r)),
        Value::Name(n) => PdfObject::name(n),
        Value::String(s) => PdfObject::String(PdfString::literal(s.clone())),
        Value::Array(a) => PdfObject::Array(a.iter().map(|v| lower_value(v, ids)).collect()),
        Value::Dict(d) => PdfObject::Dictionary(lower_dict(d, ids)),
        // Indices come from `Appearance::objects`, which only refers within its own list.
        Value::Ref(i) => PdfObject::Reference(ids[*i]),
    }
}
