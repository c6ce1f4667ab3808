//! Schemas -> named Rust types.
//!
//! Component schemas keep their names; inline schemas that need a type of their own are
//! named after where they appear (`{Owner}{Property}`, `{Owner}Item`, ...). Every inline
//! schema is lowered once per JSON pointer, so `allOf` merges reuse their parts' types.

use std::collections::{BTreeMap, HashMap, HashSet};

use indexmap::IndexMap;
use openapiv3::{
    AdditionalProperties, IntegerFormat, OpenAPI, ReferenceOr, Schema, SchemaKind, StringFormat, Type,
    VariantOrUnknownOrEmpty,
};
use serde_json::Value;

use super::{EnumVariant, Field, TaggedVariant, TypeDef, TypeKind, TypeRef, Variant};
use crate::diagnostics::{pointer_join, Diagnostic, Rule};
use crate::names::{type_name, value_name, variant_name, NameAllocator};
use crate::overrides::Overrides;
use crate::Error;

/// Names the generated models module must not take: they would shadow the prelude there.
const RESERVED_TYPE_NAMES: &[&str] = &["Option", "Result", "String", "Vec", "Box", "Some", "None", "Ok", "Err"];

/// A schema or a reference to one, whichever box it came in.
#[derive(Clone, Copy)]
pub(super) enum SchemaRef<'a> {
    Ref(&'a str),
    Inline(&'a Schema),
}

impl<'a> From<&'a ReferenceOr<Schema>> for SchemaRef<'a> {
    fn from(r: &'a ReferenceOr<Schema>) -> Self {
        match r {
            ReferenceOr::Reference { reference } => SchemaRef::Ref(reference),
            ReferenceOr::Item(s) => SchemaRef::Inline(s),
        }
    }
}

impl<'a> From<&'a ReferenceOr<Box<Schema>>> for SchemaRef<'a> {
    fn from(r: &'a ReferenceOr<Box<Schema>>) -> Self {
        match r {
            ReferenceOr::Reference { reference } => SchemaRef::Ref(reference),
            ReferenceOr::Item(s) => SchemaRef::Inline(s),
        }
    }
}

/// The object-shaped part of a schema, whether openapiv3 read it as `type: object` or as an
/// untyped schema with `properties`.
struct ObjectView<'a> {
    properties: &'a IndexMap<String, ReferenceOr<Box<Schema>>>,
    required: &'a [String],
    additional: Option<&'a AdditionalProperties>,
}

fn object_view(s: &Schema) -> Option<ObjectView<'_>> {
    match &s.schema_kind {
        SchemaKind::Type(Type::Object(o)) => Some(ObjectView {
            properties: &o.properties,
            required: &o.required,
            additional: o.additional_properties.as_ref(),
        }),
        SchemaKind::Any(a) if !a.properties.is_empty() || a.additional_properties.is_some() || a.typ.as_deref() == Some("object") => {
            Some(ObjectView { properties: &a.properties, required: &a.required, additional: a.additional_properties.as_ref() })
        }
        _ => None,
    }
}

fn all_of(s: &Schema) -> &[ReferenceOr<Schema>] {
    match &s.schema_kind {
        SchemaKind::AllOf { all_of } => all_of,
        SchemaKind::Any(a) => &a.all_of,
        _ => &[],
    }
}

/// `oneOf`/`anyOf` elements and which keyword they came from.
fn union_of(s: &Schema) -> Option<(&'static str, &[ReferenceOr<Schema>])> {
    match &s.schema_kind {
        SchemaKind::OneOf { one_of } => Some(("oneOf", one_of)),
        SchemaKind::AnyOf { any_of } => Some(("anyOf", any_of)),
        SchemaKind::Any(a) if !a.one_of.is_empty() => Some(("oneOf", &a.one_of)),
        SchemaKind::Any(a) if !a.any_of.is_empty() => Some(("anyOf", &a.any_of)),
        _ => None,
    }
}

fn string_enum(s: &Schema) -> Option<Vec<Value>> {
    match &s.schema_kind {
        SchemaKind::Type(Type::String(st)) if !st.enumeration.is_empty() => {
            Some(st.enumeration.iter().map(|v| v.clone().map_or(Value::Null, Value::String)).collect())
        }
        SchemaKind::Any(a) if !a.enumeration.is_empty() && a.typ.as_deref().is_none_or(|t| t == "string") => {
            Some(a.enumeration.clone())
        }
        _ => None,
    }
}

/// Properties gathered from an object schema and everything it `allOf`-includes.
#[derive(Default)]
struct Collected<'a> {
    /// wire name -> (owner type name for inline property types, pointer, schema)
    properties: IndexMap<String, (String, String, SchemaRef<'a>)>,
    required: Vec<(String, String)>,
    additional: Option<(String, String, &'a AdditionalProperties)>,
}

pub(crate) struct SchemaLowerer<'a> {
    spec: &'a OpenAPI,
    overrides: &'a Overrides,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    component_names: HashMap<String, String>,
    type_names: NameAllocator,
    types: BTreeMap<String, TypeDef>,
    by_pointer: HashMap<String, TypeRef>,
    multipart_components: HashSet<String>,
    /// Components only ever used as variants of discriminated unions, with the tag property
    /// they leave to the union.
    union_only: HashMap<String, String>,
    secret_properties: HashSet<String>,
}

impl<'a> SchemaLowerer<'a> {
    pub fn new(
        spec: &'a OpenAPI,
        document: &Value,
        overrides: &'a Overrides,
        diagnostics: &'a mut Vec<Diagnostic>,
    ) -> Self {
        let mut lowerer = SchemaLowerer {
            spec,
            overrides,
            diagnostics,
            component_names: HashMap::new(),
            type_names: NameAllocator::default(),
            types: BTreeMap::new(),
            by_pointer: HashMap::new(),
            multipart_components: multipart_components(spec),
            union_only: union_only_components(document),
            secret_properties: overrides.secret_properties.iter().cloned().collect(),
        };
        for reserved in RESERVED_TYPE_NAMES {
            lowerer.type_names.reserve(reserved);
        }
        lowerer
    }

    fn schemas(&self) -> impl Iterator<Item = (&'a String, &'a ReferenceOr<Schema>)> {
        self.spec.components.iter().flat_map(|c| c.schemas.iter())
    }

    pub fn allocate_type_name(&mut self, desired: &str, pointer: &str) -> String {
        let (name, collided) = self.type_names.allocate(desired);
        if collided {
            self.diagnostics.push(Diagnostic::new(Rule::TypeNameTaken, 
                pointer,
                format!("type name `{desired}` is taken (by another schema or a prelude type); named `{name}`"),
            ));
        }
        name
    }

    pub fn lower_components(&mut self) -> Result<(), Error> {
        let components: Vec<_> = self.schemas().collect();
        for (spec_name, _) in &components {
            let pointer = pointer_join("#/components/schemas", spec_name);
            let name = self.allocate_type_name(&type_name(spec_name), &pointer);
            self.component_names.insert((*spec_name).clone(), name);
        }
        for (spec_name, schema) in components {
            let mut pointer = pointer_join("#/components/schemas", spec_name);
            let name = self.component_names[spec_name.as_str()].clone();
            // `X: {allOf: [{...}]}` is X itself: keep the name for the one inline part.
            let mut schema = SchemaRef::from(schema);
            while let SchemaRef::Inline(s) = schema {
                match all_of(s) {
                    [only] if object_view(s).is_none() && matches!(only, ReferenceOr::Item(_)) => {
                        schema = only.into();
                        pointer.push_str("/allOf/0");
                    }
                    _ => break,
                }
            }
            let kind = match schema {
                SchemaRef::Ref(r) => TypeKind::Alias(self.ref_type(r, &pointer)?),
                SchemaRef::Inline(s) if self.multipart_components.contains(spec_name.as_str()) => {
                    self.multipart_kind(s, &name, &pointer)?
                }
                SchemaRef::Inline(s) if needs_named_type(s) => self.def_kind(s, &name, &pointer)?,
                SchemaRef::Inline(s) => TypeKind::Alias(self.plain_type(s, &name, &pointer)?),
            };
            let doc = match schema {
                SchemaRef::Inline(s) => s.schema_data.description.clone(),
                SchemaRef::Ref(_) => None,
            };
            self.types.insert(name.clone(), TypeDef { name, pointer, doc, kind });
        }
        self.check_alias_cycles()
    }

    /// `A: {$ref: B}` with `B: {type: array, items: {$ref: A}}` has no Rust type: aliases
    /// cannot refer to themselves, only structs and enums can.
    fn check_alias_cycles(&self) -> Result<(), Error> {
        fn named<'t>(ty: &'t TypeRef, out: &mut Vec<&'t str>) {
            match ty {
                TypeRef::Named(name) => out.push(name),
                TypeRef::Vec(inner) | TypeRef::Map(inner) | TypeRef::Nullable(inner) => named(inner, out),
                _ => {}
            }
        }
        for start in self.types.values() {
            let TypeKind::Alias(target) = &start.kind else { continue };
            let mut pending = Vec::new();
            named(target, &mut pending);
            let mut seen = HashSet::new();
            while let Some(name) = pending.pop() {
                if name == start.name {
                    return Err(Error {
                        location: start.pointer.clone(),
                        message: "this schema contains itself through `$ref`s, arrays and maps only, which no Rust \
                                  type can express; give the cycle an object schema (an overrides patch)"
                            .into(),
                    });
                }
                if let Some(TypeKind::Alias(next)) = self.types.get(name).map(|t| &t.kind) {
                    if seen.insert(name) {
                        named(next, &mut pending);
                    }
                }
            }
        }
        Ok(())
    }

    /// A type lowered so far, by its Rust name.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    pub fn finish(self) -> Vec<TypeDef> {
        self.types.into_values().collect()
    }

    /// `#/components/schemas/X` -> `Named(X's Rust name)`.
    pub fn ref_type(&self, reference: &str, pointer: &str) -> Result<TypeRef, Error> {
        let name = self.component_for_ref(reference, pointer)?;
        Ok(TypeRef::Named(self.component_names[name].clone()))
    }

    fn component_for_ref<'r>(&self, reference: &'r str, pointer: &str) -> Result<&'r str, Error> {
        reference
            .strip_prefix("#/components/schemas/")
            .filter(|name| self.component_names.contains_key(*name))
            .ok_or_else(|| Error {
                location: pointer.to_string(),
                message: format!("`$ref: {reference}` does not point at a schema in #/components/schemas"),
            })
    }

    fn resolve(&self, reference: &str, pointer: &str) -> Result<(&'a str, SchemaRef<'a>), Error> {
        let name = self.component_for_ref(reference, pointer)?;
        let components = self.spec.components.as_ref().expect("checked by component_for_ref");
        let (_, name, schema) = components.schemas.get_full(name).expect("checked by component_for_ref");
        Ok((name.as_str(), SchemaRef::from(schema)))
    }

    /// Lowers a schema found at `pointer`; inline schemas that need a type get one named `hint`.
    pub fn lower(&mut self, schema: SchemaRef<'a>, hint: &str, pointer: &str) -> Result<TypeRef, Error> {
        let s = match schema {
            SchemaRef::Ref(r) => return self.ref_type(r, pointer),
            SchemaRef::Inline(s) => s,
        };
        if let Some(done) = self.by_pointer.get(pointer) {
            return Ok(done.clone());
        }
        let ty = if needs_named_type(s) {
            let name = self.allocate_type_name(hint, pointer);
            let ty = TypeRef::Named(name.clone());
            self.by_pointer.insert(pointer.to_string(), ty.clone());
            let kind = self.def_kind(s, &name, pointer)?;
            let doc = s.schema_data.description.clone();
            self.types.insert(name.clone(), TypeDef { name, pointer: pointer.to_string(), doc, kind });
            ty
        } else {
            self.plain_type(s, hint, pointer)?
        };
        self.by_pointer.insert(pointer.to_string(), ty.clone());
        Ok(ty)
    }

    /// Lowers a list/map element, keeping its nullability.
    fn lower_element(&mut self, schema: SchemaRef<'a>, hint: &str, pointer: &str) -> Result<TypeRef, Error> {
        let ty = self.lower(schema, hint, pointer)?;
        Ok(match schema {
            SchemaRef::Inline(s) if s.schema_data.nullable => TypeRef::Nullable(Box::new(ty)),
            _ => ty,
        })
    }

    /// Schemas that map onto a Rust type without a definition of their own.
    fn plain_type(&mut self, s: &'a Schema, hint: &str, pointer: &str) -> Result<TypeRef, Error> {
        Ok(match &s.schema_kind {
            SchemaKind::Type(Type::String(st)) => match &st.format {
                VariantOrUnknownOrEmpty::Item(StringFormat::DateTime) => TypeRef::DateTime,
                VariantOrUnknownOrEmpty::Item(StringFormat::Date) => TypeRef::Date,
                VariantOrUnknownOrEmpty::Item(StringFormat::Binary) => TypeRef::File,
                _ => TypeRef::String,
            },
            SchemaKind::Type(Type::Integer(it)) => match it.format {
                VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32) => TypeRef::I32,
                _ => TypeRef::I64,
            },
            SchemaKind::Type(Type::Number(_)) => TypeRef::F64,
            SchemaKind::Type(Type::Boolean(_)) => TypeRef::Bool,
            SchemaKind::Type(Type::Array(a)) => self.array_type(a.items.as_ref(), hint, pointer)?,
            SchemaKind::Type(Type::Object(o)) => self.map_type(o.additional_properties.as_ref(), hint, pointer)?,
            SchemaKind::AllOf { all_of } if all_of.len() == 1 => {
                self.lower((&all_of[0]).into(), hint, &format!("{pointer}/allOf/0"))?
            }
            SchemaKind::Any(a) => match a.typ.as_deref() {
                Some("string") => match a.format.as_deref() {
                    Some("date-time") => TypeRef::DateTime,
                    Some("date") => TypeRef::Date,
                    Some("binary") => TypeRef::File,
                    _ => TypeRef::String,
                },
                Some("integer") if a.format.as_deref() == Some("int32") => TypeRef::I32,
                Some("integer") => TypeRef::I64,
                Some("number") => TypeRef::F64,
                Some("boolean") => TypeRef::Bool,
                Some("array") => self.array_type(a.items.as_ref(), hint, pointer)?,
                Some("object") => self.map_type(a.additional_properties.as_ref(), hint, pointer)?,
                _ if a.items.is_some() => self.array_type(a.items.as_ref(), hint, pointer)?,
                _ if a.all_of.len() == 1 => self.lower((&a.all_of[0]).into(), hint, &format!("{pointer}/allOf/0"))?,
                _ => TypeRef::Json,
            },
            SchemaKind::Not { .. } => {
                self.diagnostics.push(Diagnostic::new(Rule::NotSchema, pointer, "`not` cannot be expressed as a Rust type; any JSON value accepted"));
                TypeRef::Json
            }
            // Only `allOf: []` gets here (needs_named_type covers the rest): it constrains nothing.
            SchemaKind::AllOf { .. } | SchemaKind::OneOf { .. } | SchemaKind::AnyOf { .. } => TypeRef::Json,
        })
    }

    fn array_type(&mut self, items: Option<&'a ReferenceOr<Box<Schema>>>, hint: &str, pointer: &str) -> Result<TypeRef, Error> {
        Ok(match items {
            Some(items) => TypeRef::Vec(Box::new(self.lower_element(items.into(), &format!("{hint}Item"), &format!("{pointer}/items"))?)),
            None => TypeRef::Vec(Box::new(TypeRef::Json)),
        })
    }

    fn map_type(&mut self, additional: Option<&'a AdditionalProperties>, hint: &str, pointer: &str) -> Result<TypeRef, Error> {
        Ok(match additional {
            Some(AdditionalProperties::Schema(values)) => TypeRef::Map(Box::new(self.lower_element(
                values.as_ref().into(),
                &format!("{hint}Value"),
                &format!("{pointer}/additionalProperties"),
            )?)),
            _ => TypeRef::JsonObject,
        })
    }

    /// The definition of a schema that [`needs_named_type`].
    fn def_kind(&mut self, s: &'a Schema, name: &str, pointer: &str) -> Result<TypeKind, Error> {
        if let Some(values) = string_enum(s) {
            return Ok(self.enum_kind(&values, pointer));
        }
        if let Some((keyword, elements)) = union_of(s) {
            if all_of(s).is_empty() && object_view(s).is_none_or(|o| o.properties.is_empty()) {
                return self.union_kind(s, keyword, elements, name, pointer);
            }
            self.diagnostics.push(Diagnostic::new(Rule::CombinatorBesideProperties, 
                pointer,
                format!("`{keyword}` next to properties or `allOf` is not supported; only the properties are used"),
            ));
        }
        let mut collected = Collected::default();
        self.collect(SchemaRef::Inline(s), name, pointer, &mut collected, 0)?;
        self.struct_kind(collected, name, pointer)
    }

    fn enum_kind(&mut self, values: &[Value], pointer: &str) -> TypeKind {
        let mut names = NameAllocator::default();
        let mut variants = Vec::new();
        for value in values {
            let wire = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => {
                    self.diagnostics.push(Diagnostic::new(Rule::NonStringEnumValue, 
                        format!("{pointer}/enum"),
                        format!("non-string enum value {other} in a string enum; kept as the string \"{other}\""),
                    ));
                    other.to_string()
                }
            };
            if variants.iter().any(|v: &EnumVariant| v.wire == wire) {
                continue;
            }
            let (name, collided) = names.allocate(&variant_name(&wire));
            if collided {
                self.diagnostics.push(Diagnostic::new(Rule::EnumValueCollision, 
                    format!("{pointer}/enum"),
                    format!("enum value \"{wire}\" collides with another after case conversion; variant named `{name}`"),
                ));
            }
            variants.push(EnumVariant { name, wire });
        }
        let catch_all = if names.is_taken("Unknown") { names.allocate("UnknownValue").0 } else { "Unknown".to_string() };
        TypeKind::Enum { variants, catch_all }
    }

    /// Gathers the properties of an object schema and of everything it `allOf`-includes.
    fn collect(&mut self, schema: SchemaRef<'a>, owner: &str, pointer: &str, into: &mut Collected<'a>, depth: usize) -> Result<(), Error> {
        if depth > 32 {
            return Err(Error { location: pointer.to_string(), message: "`allOf` nests more than 32 deep (a cycle?)".into() });
        }
        let s = match schema {
            SchemaRef::Ref(r) => {
                let (component, target) = self.resolve(r, pointer)?;
                let owner = self.component_names[component].clone();
                return self.collect(target, &owner, &pointer_join("#/components/schemas", component), into, depth + 1);
            }
            SchemaRef::Inline(s) => s,
        };
        for (i, part) in all_of(s).iter().enumerate() {
            self.collect(part.into(), owner, &format!("{pointer}/allOf/{i}"), into, depth + 1)?;
        }
        if let Some(object) = object_view(s) {
            for (wire, property) in object.properties {
                let property_pointer = pointer_join(&format!("{pointer}/properties"), wire);
                into.properties.insert(wire.clone(), (owner.to_string(), property_pointer, property.into()));
            }
            into.required.extend(object.required.iter().map(|r| (r.clone(), format!("{pointer}/required"))));
            if let Some(additional) = object.additional {
                into.additional = Some((owner.to_string(), pointer.to_string(), additional));
            }
        } else if all_of(s).is_empty() && depth > 0 {
            self.diagnostics.push(Diagnostic::new(Rule::AllOfNotObject, pointer, "`allOf` part is not an object schema; ignored"));
        }
        Ok(())
    }

    fn struct_kind(&mut self, collected: Collected<'a>, name: &str, pointer: &str) -> Result<TypeKind, Error> {
        let dropped_tag = self.component_of_type(name).and_then(|c| self.union_only.get(c)).cloned();
        let mut field_names = NameAllocator::default();
        let mut fields = Vec::new();
        for (wire, (owner, property_pointer, schema)) in &collected.properties {
            if dropped_tag.as_deref() == Some(wire.as_str()) {
                continue;
            }
            let desired = value_name(wire);
            let (field_name, collided) = field_names.allocate(&desired);
            if collided {
                self.diagnostics.push(Diagnostic::new(Rule::PropertyCollision, 
                    property_pointer.as_str(),
                    format!("property `{wire}` collides with another after case conversion; field named `{field_name}`"),
                ));
            } else if desired.ends_with('_') && crate::names::is_keyword(desired.trim_end_matches('_')) {
                self.diagnostics.push(Diagnostic::new(Rule::KeywordProperty, 
                    property_pointer.as_str(),
                    format!("property `{wire}` is a Rust keyword; field named `{field_name}`"),
                ));
            }
            let mut ty = self.lower(*schema, &format!("{owner}{}", type_name(wire)), property_pointer)?;
            if ty == TypeRef::String && self.secret_properties.contains(wire.as_str()) {
                ty = TypeRef::Secret;
            }
            let (nullable, doc) = match schema {
                SchemaRef::Inline(s) => (s.schema_data.nullable, s.schema_data.description.clone()),
                SchemaRef::Ref(r) => {
                    let (_, target) = self.resolve(r, property_pointer)?;
                    let nullable = matches!(target, SchemaRef::Inline(t) if t.schema_data.nullable);
                    (nullable, None)
                }
            };
            let required = collected.required.iter().any(|(r, _)| r == wire);
            fields.push(Field { wire: wire.clone(), name: field_name, ty, required, nullable, doc });
        }
        let mut reported = HashSet::new();
        for (wire, required_pointer) in &collected.required {
            if !collected.properties.contains_key(wire) && reported.insert(wire.clone()) {
                self.diagnostics.push(Diagnostic::new(Rule::RequiredUndefined, 
                    required_pointer.as_str(),
                    format!("`{wire}` is listed in `required` but has no property definition; ignored"),
                ));
            }
        }
        let declares_additional = collected.additional.is_some();
        let additional = match collected.additional {
            Some((owner, owner_pointer, AdditionalProperties::Schema(values))) => Some(self.lower_element(
                values.as_ref().into(),
                &format!("{owner}Value"),
                &format!("{owner_pointer}/additionalProperties"),
            )?),
            Some((_, _, AdditionalProperties::Any(true))) => Some(TypeRef::Json),
            _ => None,
        };
        let additional = additional.filter(|_| !fields.is_empty());
        if fields.is_empty() && !declares_additional {
            self.diagnostics.push(Diagnostic::new(Rule::EmptyObject, pointer, "object schema declares no properties; generated as an empty struct"));
        }
        let envelope = self.overrides.envelope.as_ref().and_then(|e| {
            let success = fields.iter().find(|f| f.wire == e.success && f.ty == TypeRef::Bool)?;
            let error = fields.iter().find(|f| f.wire == e.error && f.ty == TypeRef::String);
            Some((success.name.clone(), error.map(|f| f.name.clone())))
        });
        Ok(TypeKind::Struct { fields, additional, envelope })
    }

    pub fn is_string_enum(&self, rust_name: &str) -> bool {
        match self.types.get(rust_name).map(|t| &t.kind) {
            Some(TypeKind::Enum { .. }) => true,
            Some(TypeKind::Alias(TypeRef::Named(target))) => self.is_string_enum(target),
            _ => false,
        }
    }

    fn component_of_type(&self, rust_name: &str) -> Option<&str> {
        self.component_names.iter().find(|(_, n)| n.as_str() == rust_name).map(|(c, _)| c.as_str())
    }

    fn union_kind(
        &mut self,
        s: &'a Schema,
        keyword: &str,
        elements: &'a [ReferenceOr<Schema>],
        name: &str,
        pointer: &str,
    ) -> Result<TypeKind, Error> {
        let mut variant_names = NameAllocator::default();
        if let Some(discriminator) = &s.schema_data.discriminator {
            let components: Option<Vec<&str>> = elements
                .iter()
                .map(|e| match e {
                    ReferenceOr::Reference { reference } => reference.strip_prefix("#/components/schemas/"),
                    ReferenceOr::Item(_) => None,
                })
                .collect();
            let usable = components.as_ref().is_some_and(|cs| {
                cs.iter().all(|c| self.union_only.get(*c) == Some(&discriminator.property_name))
            });
            if let (Some(components), true) = (components, usable) {
                let mut variants = Vec::new();
                for (i, component) in components.iter().enumerate() {
                    let reference = format!("#/components/schemas/{component}");
                    let tag = discriminator
                        .mapping
                        .iter()
                        .find(|(_, target)| **target == reference)
                        .map_or_else(|| component.to_string(), |(tag, _)| tag.clone());
                    let ty = self.ref_type(&reference, &format!("{pointer}/{keyword}/{i}"))?;
                    let (variant, _) = variant_names.allocate(&variant_name(&tag));
                    variants.push(TaggedVariant { name: variant, tag, ty });
                }
                return Ok(TypeKind::Tagged { property: discriminator.property_name.clone(), variants });
            }
            self.diagnostics.push(Diagnostic::new(Rule::DiscriminatorUnused, 
                format!("{pointer}/discriminator"),
                "discriminator not used: its variants are not all component schemas used only through such unions; \
                 variants are tried in turn instead",
            ));
        }
        let mut variants = Vec::new();
        for (i, element) in elements.iter().enumerate() {
            let element_pointer = format!("{pointer}/{keyword}/{i}");
            let ty = self.lower(element.into(), &format!("{name}Option{}", i + 1), &element_pointer)?;
            let richness = self.richness(element.into(), &element_pointer)?;
            let (variant, _) = variant_names.allocate(&variant_name_for(&ty));
            variants.push((richness, Variant { name: variant, ty }));
        }
        // Serde tries untagged variants in order and takes the first that decodes. Objects
        // ignore unknown fields, so a poorer variant would swallow a richer body: richest first.
        variants.sort_by_key(|v| std::cmp::Reverse(v.0));
        Ok(TypeKind::Untagged { variants: variants.into_iter().map(|(_, v)| v).collect() })
    }

    /// (required properties, all properties) of an object-like schema: how specific it is.
    fn richness(&mut self, schema: SchemaRef<'a>, pointer: &str) -> Result<(usize, usize), Error> {
        let mut collected = Collected::default();
        let mut scratch = Vec::new();
        std::mem::swap(self.diagnostics, &mut scratch);
        let result = self.collect(schema, "", pointer, &mut collected, 0);
        std::mem::swap(self.diagnostics, &mut scratch);
        result?;
        let required = collected.required.iter().filter(|(r, _)| collected.properties.contains_key(r)).count();
        Ok((required, collected.properties.len()))
    }

    fn multipart_kind(&mut self, s: &'a Schema, name: &str, pointer: &str) -> Result<TypeKind, Error> {
        let mut collected = Collected::default();
        self.collect(SchemaRef::Inline(s), name, pointer, &mut collected, 0)?;
        match self.struct_kind(collected, name, pointer)? {
            TypeKind::Struct { fields, .. } => Ok(TypeKind::Multipart { fields }),
            other => Ok(other),
        }
    }

    pub fn lower_multipart_body(&mut self, schema: SchemaRef<'a>, hint: &str, pointer: &str) -> Result<TypeRef, Error> {
        match schema {
            SchemaRef::Ref(r) => self.ref_type(r, pointer),
            SchemaRef::Inline(s) => {
                let name = self.allocate_type_name(hint, pointer);
                let kind = self.multipart_kind(s, &name, pointer)?;
                let doc = s.schema_data.description.clone();
                self.types.insert(name.clone(), TypeDef { name: name.clone(), pointer: pointer.into(), doc, kind });
                Ok(TypeRef::Named(name))
            }
        }
    }
}

/// Whether an inline schema becomes a type definition of its own.
fn needs_named_type(s: &Schema) -> bool {
    string_enum(s).is_some()
        || union_of(s).is_some()
        || all_of(s).len() > 1
        || (!all_of(s).is_empty() && object_view(s).is_some_and(|o| !o.properties.is_empty()))
        || object_view(s).is_some_and(|o| !o.properties.is_empty())
}

fn variant_name_for(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(n) => n.clone(),
        TypeRef::Bool => "Bool".into(),
        TypeRef::I32 | TypeRef::I64 => "Integer".into(),
        TypeRef::F64 => "Number".into(),
        TypeRef::String | TypeRef::Secret | TypeRef::Date | TypeRef::DateTime | TypeRef::File => "String".into(),
        TypeRef::Json => "Value".into(),
        TypeRef::JsonObject | TypeRef::Map(_) => "Object".into(),
        TypeRef::Vec(_) => "List".into(),
        TypeRef::Nullable(inner) => variant_name_for(inner),
    }
}

/// Components that `multipart/form-data` request bodies refer to.
fn multipart_components(spec: &OpenAPI) -> HashSet<String> {
    let mut found = HashSet::new();
    for (_, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else { continue };
        for (_, operation) in item.iter() {
            let Some(ReferenceOr::Item(body)) = &operation.request_body else { continue };
            for (content_type, media) in &body.content {
                if content_type.starts_with("multipart/form-data") {
                    if let Some(ReferenceOr::Reference { reference }) = &media.schema {
                        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                            found.insert(name.to_string());
                        }
                    }
                }
            }
        }
    }
    found
}

/// Components whose every `$ref` is a variant of a discriminated `oneOf` that becomes a tagged
/// enum, with the tag property: such a component leaves its tag field to the enum.
fn union_only_components(document: &Value) -> HashMap<String, String> {
    /// One discriminated `oneOf`: its tag and its variants (`None`: not a component `$ref`).
    struct Union {
        tag: String,
        variants: Vec<Option<String>>,
        /// Unions next to properties or `allOf` become structs, not enums.
        enum_shaped: bool,
    }
    fn component(value: &Value) -> Option<&str> {
        value.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")
    }
    fn walk(value: &Value, all: &mut HashMap<String, usize>, unions: &mut Vec<Union>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = component(value) {
                    *all.entry(name.to_string()).or_default() += 1;
                }
                let tag = map.get("discriminator").and_then(|d| d.get("propertyName")).and_then(Value::as_str);
                if let (Some(tag), Some(Value::Array(variants))) = (tag, map.get("oneOf")) {
                    let non_empty = |key: &str| match map.get(key) {
                        Some(Value::Object(o)) => !o.is_empty(),
                        Some(Value::Array(a)) => !a.is_empty(),
                        _ => false,
                    };
                    unions.push(Union {
                        tag: tag.to_string(),
                        variants: variants.iter().map(|v| component(v).map(str::to_string)).collect(),
                        enum_shaped: !non_empty("properties") && !non_empty("allOf"),
                    });
                }
                // Mappings name their targets again; they are not uses of their own.
                for (key, child) in map {
                    if key != "discriminator" {
                        walk(child, all, unions);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, all, unions)),
            _ => {}
        }
    }
    let mut all = HashMap::new();
    let mut unions = Vec::new();
    walk(document, &mut all, &mut unions);
    let mut in_unions: HashMap<&str, (usize, HashSet<&str>)> = HashMap::new();
    for union in &unions {
        for name in union.variants.iter().flatten() {
            let entry = in_unions.entry(name).or_default();
            entry.0 += 1;
            entry.1.insert(&union.tag);
        }
    }
    let mut only: HashMap<String, String> = in_unions
        .into_iter()
        .filter(|(name, (count, tags))| all.get(*name) == Some(count) && tags.len() == 1)
        .filter_map(|(name, (_, tags))| Some((name.to_string(), tags.into_iter().next()?.to_string())))
        .collect();
    // A union with one unqualified variant is decoded untagged, and then every variant needs
    // its tag field on the wire; dropping a variant can disqualify another union, so repeat.
    loop {
        let mut changed = false;
        for union in &unions {
            let tagged = union.enum_shaped
                && union.variants.iter().all(|v| v.as_ref().is_some_and(|name| only.contains_key(name)));
            if !tagged {
                for name in union.variants.iter().flatten() {
                    changed |= only.remove(name).is_some();
                }
            }
        }
        if !changed {
            return only;
        }
    }
}
