//! The types of one namespace (the model, or the webhook events), collected
//! from the specs' schemas.

use std::collections::{HashMap, HashSet};

use crate::names::{field_ident, pascal, singular};
use crate::node::Node;
use crate::tables::{lookup, FILE_AREAS, ID_FIELDS, LENIENT_WEBHOOK, MESSAGING_AREAS, SECRET_FIELDS};

/// One spec file.
pub struct Spec {
    /// The file name.
    pub fname: String,
    /// The whole document.
    pub data: Node,
}

impl Spec {
    /// `components.schemas`.
    pub fn schemas(&self) -> &[(String, Node)] {
        self.data.get_or_empty("components").get_or_empty("schemas").entries()
    }
}

/// A property of a struct.
#[derive(Clone, Debug)]
pub struct Field {
    pub json: String,
    pub ident: String,
    pub ty: String,
    pub required: bool,
    pub doc: Option<String>,
}

/// What a type is.
#[derive(Clone, Debug)]
pub enum Kind {
    Enum {
        values: Vec<String>,
    },
    Struct {
        fields: Vec<Field>,
        tag: Option<(String, String)>,
    },
    Union {
        tag: String,
        variants: Vec<(String, String)>,
        base: Vec<(String, String)>,
    },
    Alias {
        target: String,
    },
    Untagged {
        variants: Vec<String>,
    },
}

/// A type to emit.
#[derive(Clone, Debug)]
pub struct Type {
    pub kind: Kind,
    pub area: String,
    pub doc: Option<String>,
}

/// Which namespace a `Gen` collects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Model,
    Webhook,
}

/// The description of a schema, as text.
pub fn description(n: &Node) -> Option<String> {
    n.get("description").filter(|d| d.truthy()).map(Node::text)
}

/// The last segment of a `$ref`.
pub fn resolve_ref(r: &str) -> String {
    r.rsplit('/').next().unwrap_or(r).to_owned()
}

fn ref_of(n: &Node) -> Option<&str> {
    n.str_of("$ref")
}

/// Collects types.
pub struct Gen<'a> {
    pub namespace: Namespace,
    types: Vec<(String, Type)>,
    index: HashMap<String, usize>,
    schema_src: Vec<(String, &'a Spec, &'a Node)>,
    schema_index: HashMap<String, usize>,
    parents: HashMap<String, Vec<(String, String, String)>>,
    inline_cache: HashMap<usize, String>,
    pub param_cache: HashMap<(String, String), (String, String)>,
}

impl<'a> Gen<'a> {
    pub fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            types: Vec::new(),
            index: HashMap::new(),
            schema_src: Vec::new(),
            schema_index: HashMap::new(),
            parents: HashMap::new(),
            inline_cache: HashMap::new(),
            param_cache: HashMap::new(),
        }
    }

    /// The types, in registration order.
    pub fn types(&self) -> &[(String, Type)] {
        &self.types
    }

    /// The type called `name`.
    pub fn ty(&self, name: &str) -> Option<&Type> {
        self.index.get(name).map(|&i| &self.types[i].1)
    }

    fn has_type(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Adds a type (registration order is emission order).
    pub fn insert(&mut self, name: String, t: Type) {
        if let Some(&i) = self.index.get(&name) {
            self.types[i].1 = t;
        } else {
            self.index.insert(name.clone(), self.types.len());
            self.types.push((name, t));
        }
    }

    fn ty_mut(&mut self, name: &str) -> &mut Type {
        let i = self.index[name];
        &mut self.types[i].1
    }

    fn src(&self, name: &str) -> (&'a Spec, &'a Node) {
        let (_, spec, sch) = self.schema_src[self.schema_index[name]];
        (spec, sch)
    }

    pub fn add_spec(&mut self, spec: &'a Spec) {
        for (name, sch) in spec.schemas() {
            if self.namespace == Namespace::Model
                && (name == "ErrorResponse" || name == "ErrorDetail")
                && spec.fname != "messaging-api.yml"
            {
                continue;
            }
            if self.schema_index.contains_key(name) {
                continue;
            }
            self.schema_index.insert(name.clone(), self.schema_src.len());
            self.schema_src.push((name.clone(), spec, sch));
        }
        for (name, sch) in spec.schemas() {
            if let Some(disc) = sch.get("discriminator").filter(|d| d.truthy()) {
                let prop = disc.str_of("propertyName").unwrap_or_default().to_owned();
                for (tag, r) in disc.get_or_empty("mapping").entries() {
                    let target = resolve_ref(&r.text());
                    self.parents
                        .entry(target)
                        .or_default()
                        .push((name.clone(), prop.clone(), tag.clone()));
                }
            }
        }
    }

    fn area_of(&self, name: &str) -> String {
        let (spec, _) = self.src(name);
        if self.namespace == Namespace::Webhook {
            return "event".to_owned();
        }
        if spec.fname == "messaging-api.yml" {
            for (prefix, area) in MESSAGING_AREAS {
                if name.starts_with(prefix) {
                    return (*area).to_owned();
                }
            }
            return "message".to_owned();
        }
        lookup(FILE_AREAS, &spec.fname).unwrap_or("message").to_owned()
    }

    /// The properties of a schema, following `allOf`, and its required set.
    fn flatten(&self, sch: &'a Node, seen: &mut HashSet<String>) -> (Vec<(String, &'a Node)>, HashSet<String>) {
        // An empty `seen` is not shared with the caller: what this call
        // marks stays here (the first generator did the same).
        let mut fresh = HashSet::new();
        let seen = if seen.is_empty() { &mut fresh } else { seen };
        let mut props: Vec<(String, &'a Node)> = Vec::new();
        let mut required: HashSet<String> = sch.get_or_empty("required").items().iter().map(Node::text).collect();
        for part in sch.get_or_empty("allOf").items() {
            if let Some(r) = ref_of(part) {
                let pname = resolve_ref(r);
                if seen.contains(&pname) {
                    continue;
                }
                seen.insert(pname.clone());
                let (_, psch) = self.src(&pname);
                let (pp, pr) = self.flatten(psch, seen);
                props.extend(pp);
                required.extend(pr);
            } else {
                let (pp, pr) = self.flatten(part, seen);
                props.extend(pp);
                required.extend(pr);
            }
        }
        for (pname, psch) in sch.get_or_empty("properties").entries() {
            props.push((pname.clone(), psch));
        }
        // One entry per name: the first one's place, the last one's schema.
        let mut out: Vec<(String, &'a Node)> = Vec::new();
        for (pname, psch) in props {
            match out.iter_mut().find(|(n, _)| *n == pname) {
                Some(slot) => slot.1 = psch,
                None => out.push((pname, psch)),
            }
        }
        (out, required)
    }

    /// The Rust type of a property schema; registers inline types (once per schema object).
    pub fn type_of(&mut self, owner: &str, prop: &str, psch: &'a Node, area: &str) -> String {
        let key = psch.id();
        if let Some(t) = self.inline_cache.get(&key) {
            return t.clone();
        }
        let ty = self.type_of_uncached(owner, prop, psch, area);
        self.inline_cache.insert(key, ty.clone());
        ty
    }

    fn type_of_uncached(&mut self, owner: &str, prop: &str, psch: &'a Node, area: &str) -> String {
        if let Some(r) = ref_of(psch) {
            return resolve_ref(r);
        }
        if let Some(all) = psch.get("allOf") {
            if let [one] = all.items() {
                if let Some(r) = ref_of(one) {
                    return resolve_ref(r);
                }
            }
        }
        let t = psch.str_of("type");
        match t {
            Some("string") => {
                if let Some(values) = psch.get("enum") {
                    let ename = self.unique_name(&format!("{owner}{}", pascal(prop)));
                    self.register_enum(&ename, values, description(psch), area);
                    return ename;
                }
                if psch.str_of("format") == Some("binary") {
                    return "bytes::Bytes".to_owned();
                }
                if let Some(id) = lookup(ID_FIELDS, prop) {
                    return format!("crate::ids::{id}");
                }
                if SECRET_FIELDS.contains(&prop) {
                    return "crate::secret::SecretString".to_owned();
                }
                return "String".to_owned();
            }
            Some("integer") => {
                return if psch.str_of("format") == Some("int32") {
                    "i32"
                } else {
                    "i64"
                }
                .to_owned();
            }
            Some("number") => return "f64".to_owned(),
            Some("boolean") => return "bool".to_owned(),
            Some("array") => {
                let items = psch.get_or_empty("items");
                if (prop == "userIds" || prop == "to")
                    && items.str_of("type") == Some("string")
                    && items.get("enum").is_none()
                {
                    return "Vec<crate::ids::UserId>".to_owned();
                }
                let inner = self.type_of(owner, &singular(prop), items, area);
                return format!("Vec<{inner}>");
            }
            _ => {}
        }
        if t == Some("object") || psch.get("properties").is_some() || psch.get("additionalProperties").is_some() {
            if psch.has("properties") {
                let sname = self.unique_name(&format!("{owner}{}", pascal(prop)));
                self.register_struct(&sname, psch, area);
                return sname;
            }
            if let Some(ap) = psch.get("additionalProperties") {
                if matches!(ap, Node::Map(m) if !m.is_empty()) {
                    let inner = self.type_of(owner, &format!("{prop}Value"), ap, area);
                    return format!("std::collections::BTreeMap<String, {inner}>");
                }
            }
            return "serde_json::Map<String, serde_json::Value>".to_owned();
        }
        "serde_json::Value".to_owned()
    }

    /// `base`, or `base2`, `base3`… when taken.
    pub fn unique_name(&self, base: &str) -> String {
        let mut name = base.to_owned();
        let mut i = 2;
        while self.has_type(&name) || self.schema_index.contains_key(&name) {
            name = format!("{base}{i}");
            i += 1;
        }
        name
    }

    pub fn register_enum(&mut self, name: &str, values: &Node, doc: Option<String>, area: &str) {
        if self.has_type(name) {
            return;
        }
        let values = values.items().iter().map(Node::text).collect();
        self.insert(
            name.to_owned(),
            Type {
                kind: Kind::Enum { values },
                area: area.to_owned(),
                doc,
            },
        );
    }

    fn register_named(&mut self, name: &str) {
        if self.has_type(name) {
            return;
        }
        let (_, sch) = self.src(name);
        let area = self.area_of(name);
        let t = sch.str_of("type");
        if sch.has("discriminator") {
            self.register_union(name, sch, &area);
        } else if t == Some("string") && sch.get("enum").is_some() {
            self.register_enum(name, sch.get_or_empty("enum"), description(sch), &area);
        } else if matches!(t, Some("string" | "integer" | "number" | "boolean" | "array")) && sch.get("allOf").is_none()
        {
            self.insert(
                name.to_owned(),
                Type {
                    kind: Kind::Alias { target: String::new() },
                    area: area.clone(),
                    doc: description(sch),
                },
            );
            let target = self.type_of(name, "", sch, &area);
            self.ty_mut(name).kind = Kind::Alias { target };
        } else {
            self.register_struct(name, sch, &area);
        }
    }

    fn register_union(&mut self, name: &str, sch: &'a Node, area: &str) {
        let disc = sch.get_or_empty("discriminator");
        let tagprop = disc.str_of("propertyName").unwrap_or_default().to_owned();
        let variants = disc
            .get_or_empty("mapping")
            .entries()
            .iter()
            .map(|(tag, r)| (tag.clone(), resolve_ref(&r.text())))
            .collect();
        self.insert(
            name.to_owned(),
            Type {
                kind: Kind::Union {
                    tag: tagprop.clone(),
                    variants,
                    base: Vec::new(),
                },
                area: area.to_owned(),
                doc: description(sch),
            },
        );
        let (props, _) = self.flatten(sch, &mut HashSet::new());
        for (pname, psch) in props {
            if pname == tagprop {
                continue;
            }
            let ty = self.type_of(name, &pname, psch, area);
            if let Kind::Union { base, .. } = &mut self.ty_mut(name).kind {
                base.push((pname, ty));
            }
        }
    }

    pub fn register_struct(&mut self, name: &str, sch: &'a Node, area: &str) {
        if self.has_type(name) {
            return;
        }
        let tag = self.parents.get(name).map(|p| (p[0].1.clone(), p[0].2.clone()));
        self.insert(
            name.to_owned(),
            Type {
                kind: Kind::Struct {
                    fields: Vec::new(),
                    tag: tag.clone(),
                },
                area: area.to_owned(),
                doc: description(sch),
            },
        );
        let (props, required) = self.flatten(sch, &mut HashSet::new());
        for (pname, psch) in props {
            if tag.as_ref().is_some_and(|t| t.0 == pname) {
                continue;
            }
            let mut rtype = self.type_of(name, &pname, psch, area);
            let mut req = required.contains(&pname);
            let mut fdoc = description(psch);
            if req && self.is_nullable(psch) {
                // Required but nullable: the key is always there, its value may be
                // `null`. An `Option` that is written back as `null` keeps the round trip exact.
                rtype = format!("Option<{rtype}>");
                let base = fdoc.unwrap_or_else(|| format!("`{pname}`."));
                fdoc = Some(format!(
                    "{}\n\nAlways present; `None` is an explicit `null`.",
                    base.trim_end()
                ));
            }
            if self.namespace == Namespace::Webhook && LENIENT_WEBHOOK.contains(&pname.as_str()) {
                req = false;
            }
            let field = Field {
                ident: field_ident(&pname),
                json: pname,
                ty: rtype,
                required: req,
                doc: fdoc,
            };
            if let Kind::Struct { fields, .. } = &mut self.ty_mut(name).kind {
                fields.push(field);
            }
        }
    }

    /// Whether a property's value may be `null` (`nullable: true` on it or on the schema it refers to).
    fn is_nullable(&self, psch: &Node) -> bool {
        if psch.has("nullable") {
            return true;
        }
        let r = ref_of(psch).or_else(|| psch.get_or_empty("allOf").items().first().and_then(ref_of));
        match r {
            Some(r) => self.src(&resolve_ref(r)).1.has("nullable"),
            None => false,
        }
    }

    pub fn register_all(&mut self) {
        let names: Vec<String> = self.schema_src.iter().map(|(n, _, _)| n.clone()).collect();
        for name in names {
            self.register_named(&name);
        }
        self.box_recursive_fields();
    }

    /// Types held inline (not behind Vec or a map) by `name`.
    fn direct_edges(&self, name: &str) -> Vec<String> {
        match self.ty(name).map(|t| &t.kind) {
            Some(Kind::Struct { fields, .. }) => fields
                .iter()
                .filter(|f| self.has_type(&f.ty))
                .map(|f| f.ty.clone())
                .collect(),
            Some(Kind::Union { variants, .. }) => variants.iter().map(|(_, v)| v.clone()).collect(),
            _ => Vec::new(),
        }
    }

    fn reaches(&self, start: &str, goal: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![start.to_owned()];
        while let Some(n) = stack.pop() {
            if n == goal {
                return true;
            }
            if !seen.insert(n.clone()) {
                continue;
            }
            stack.extend(self.direct_edges(&n));
        }
        false
    }

    fn box_recursive_fields(&mut self) {
        for i in 0..self.types.len() {
            let name = self.types[i].0.clone();
            let Kind::Struct { fields, .. } = &self.types[i].1.kind else {
                continue;
            };
            let boxed: Vec<usize> = fields
                .iter()
                .enumerate()
                .filter(|(_, f)| self.has_type(&f.ty) && self.reaches(&f.ty, &name))
                .map(|(j, _)| j)
                .collect();
            if let Kind::Struct { fields, .. } = &mut self.types[i].1.kind {
                for j in boxed {
                    fields[j].ty = format!("Box<{}>", fields[j].ty);
                }
            }
        }
    }

    /// Webhook-only changes that keep a parsed body lossless:
    /// - a property typed as one variant of a union (`members`: `UserSource`) takes
    ///   the union (`Source`), so each item keeps its `"type"` (a new kind stays
    ///   `Unknown` instead of being relabelled, a mistyped tag is an error);
    /// - a number (`latitude`) is a `serde_json::Number`, so `35` stays `35`.
    pub fn webhook_fixups(&mut self) {
        let mut union_of: HashMap<String, String> = HashMap::new();
        for (name, t) in &self.types {
            if let Kind::Union { variants, .. } = &t.kind {
                for (_, target) in variants {
                    union_of.insert(target.clone(), name.clone());
                }
            }
        }
        for (_, t) in &mut self.types {
            let Kind::Struct { fields, .. } = &mut t.kind else {
                continue;
            };
            for f in fields {
                if let Some(u) = union_of.get(&f.ty) {
                    f.ty = u.clone();
                } else if let Some(inner) = f.ty.strip_prefix("Vec<").and_then(|s| s.strip_suffix('>')) {
                    if let Some(u) = union_of.get(inner) {
                        f.ty = format!("Vec<{u}>");
                    }
                } else if f.ty == "f64" {
                    f.ty = "serde_json::Number".to_owned();
                }
            }
        }
    }
}
