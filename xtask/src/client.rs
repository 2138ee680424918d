//! The client's operation table and methods, and the test harness that calls
//! every method once.

use crate::gen::{resolve_ref, Gen, Kind};
use crate::names::{capitalize, doc_lines, field_ident, pascal, path_params, rust_str, snake, upper_snake};
use crate::node::Node;
use crate::tables::{host_of, idempotent, rate_class};

/// One operation of the specs.
pub struct Op<'a> {
    pub spec: String,
    pub method: String,
    pub path: String,
    pub id: String,
    pub fn_name: String,
    /// The request builder's type name.
    pub builder: String,
    pub server: String,
    pub auth: &'static str,
    pub summary: String,
    pub description: String,
    pub doc_url: Option<String>,
    pub params: Vec<&'a Node>,
    /// (content type, schema)
    pub body: Option<(String, &'a Node)>,
    /// (content type, schema) of the first success response; `None` for no body.
    pub success: Option<(String, &'a Node)>,
    pub retry_key: bool,
    pub idempotent: bool,
    pub rate: &'static str,
    pub konst: String,
}

fn param_in(p: &Node) -> String {
    p.get_or_empty("in").text()
}

fn param_name(p: &Node) -> String {
    p.get_or_empty("name").text()
}

/// Every operation, in spec order.
pub fn load_ops<'a>(specs: &'a [crate::gen::Spec]) -> Result<Vec<Op<'a>>, String> {
    let mut ops = Vec::new();
    for spec in specs {
        let d = &spec.data;
        let default_server = d
            .get("servers")
            .and_then(|s| s.items().first())
            .map(|s| s.get_or_empty("url").text())
            .unwrap_or_else(|| "https://api.line.me".to_owned());
        let file_security = d.get("security");
        for (path, item) in d.get_or_empty("paths").entries() {
            for (method, op) in item.entries() {
                if !matches!(method.as_str(), "get" | "post" | "put" | "delete" | "patch") {
                    continue;
                }
                let id = op.get_or_empty("operationId").text();
                let servers = op
                    .get("servers")
                    .filter(|s| s.truthy())
                    .or(item.get("servers").filter(|s| s.truthy()));
                let server = match servers {
                    Some(s) => s
                        .items()
                        .first()
                        .map(|s| s.get_or_empty("url").text())
                        .unwrap_or_default(),
                    None => default_server.clone(),
                };
                let sec = if op.get("security").is_some() {
                    op.get("security")
                } else {
                    file_security
                };
                let auth = match sec.filter(|s| s.truthy()) {
                    None => "None",
                    Some(s) if s.items().first().is_some_and(|f| f.get("basicAuth").is_some()) => "Basic",
                    Some(_) => "Bearer",
                };
                let own: Vec<(String, String)> = op
                    .get_or_empty("parameters")
                    .items()
                    .iter()
                    .map(|p| (param_in(p), param_name(p)))
                    .collect();
                let mut params: Vec<&Node> = Vec::new();
                for prm in item.get_or_empty("parameters").items() {
                    if !own.contains(&(param_in(prm), param_name(prm))) {
                        params.push(prm);
                    }
                }
                params.extend(op.get_or_empty("parameters").items());
                let body = op.get("requestBody").filter(|b| b.truthy()).and_then(|rb| {
                    rb.get_or_empty("content")
                        .entries()
                        .first()
                        .map(|(ct, c)| (ct.clone(), c.get_or_empty("schema")))
                });
                let responses = op.get_or_empty("responses");
                let success = ["200", "202", "201", "204"]
                    .iter()
                    .find_map(|code| responses.get(code))
                    .map(|r| r.get_or_empty("content").entries().first())
                    .ok_or_else(|| format!("{id}: no success response"))?
                    .map(|(ct, c)| (ct.clone(), c.get_or_empty("schema")));
                let retry_key = params.iter().any(|p| param_name(p) == "X-Line-Retry-Key");
                let method = method.to_uppercase();
                ops.push(Op {
                    spec: spec.fname.clone(),
                    idempotent: idempotent(&method, retry_key),
                    method,
                    path: path.clone(),
                    fn_name: snake(&id),
                    builder: pascal(&id),
                    rate: rate_class(&id, &spec.fname),
                    konst: upper_snake(&id),
                    id,
                    server,
                    auth,
                    summary: op
                        .get("summary")
                        .filter(|s| s.truthy())
                        .map(Node::text)
                        .unwrap_or_default(),
                    description: op
                        .get("description")
                        .filter(|s| s.truthy())
                        .map(Node::text)
                        .unwrap_or_default(),
                    doc_url: op.get("externalDocs").and_then(|e| e.get("url")).map(Node::text),
                    params,
                    body,
                    success,
                    retry_key,
                });
            }
        }
    }
    Ok(ops)
}

/// (Rust type, kind) of a parameter; registers its enum.
pub fn param_type(g: &mut Gen<'_>, o: &Op<'_>, prm: &Node) -> (String, String) {
    let key = (o.id.clone(), param_name(prm));
    if let Some(v) = g.param_cache.get(&key) {
        return v.clone();
    }
    let v = param_type_uncached(g, o, prm);
    g.param_cache.insert(key, v.clone());
    v
}

fn param_type_uncached(g: &mut Gen<'_>, o: &Op<'_>, prm: &Node) -> (String, String) {
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    let sch = prm.get_or_empty("schema");
    let owner = pascal(&o.id);
    let doc = prm.get("description").filter(|d| d.truthy()).map(Node::text);
    if let Some(r) = sch.str_of("$ref") {
        return (resolve_ref(r), "enum_or_struct".to_owned());
    }
    match sch.str_of("type") {
        Some("string") => {
            if let Some(values) = sch.get("enum") {
                let ename = g.unique_name(&format!("{owner}{}", pascal(&param_name(prm))));
                g.register_enum(&ename, values, doc, "query_params");
                return (ename, "enum".to_owned());
            }
            pair("str", "str")
        }
        Some("integer") => pair(
            if sch.str_of("format") == Some("int32") {
                "i32"
            } else {
                "i64"
            },
            "copy",
        ),
        Some("boolean") => pair("bool", "copy"),
        Some("array") => {
            let items = sch.get_or_empty("items");
            if items.str_of("type") == Some("string") {
                if let Some(values) = items.get("enum") {
                    let ename = g.unique_name(&format!("{owner}{}", pascal(&param_name(prm))));
                    g.register_enum(&ename, values, doc, "query_params");
                    return (ename, "array_enum".to_owned());
                }
            }
            pair("str", "array_str")
        }
        _ => pair("str", "str"),
    }
}

fn path_param<'a>(o: &Op<'a>, name: &str) -> Option<&'a Node> {
    o.params.iter().copied().rev().find(|p| param_name(p) == name)
}

/// A stand-in for a path parameter the operation does not declare.
fn string_param(name: &str) -> Node {
    Node::Map(vec![
        ("name".to_owned(), Node::Str(name.to_owned())),
        (
            "schema".to_owned(),
            Node::Map(vec![("type".to_owned(), Node::Str("string".to_owned()))]),
        ),
    ])
}

fn body_type(sch: &Node, fallback: &str) -> String {
    sch.str_of("$ref")
        .map(resolve_ref)
        .unwrap_or_else(|| fallback.to_owned())
}

/// Form bodies that are inline objects or `oneOf`: their types.
pub fn emit_form_unions<'a>(g: &mut Gen<'a>, ops: &[Op<'a>]) {
    for o in ops {
        let Some((ct, sch)) = &o.body else { continue };
        if ct != "application/x-www-form-urlencoded" || sch.get("$ref").is_some() {
            continue;
        }
        let name = format!("{}Request", pascal(&o.id));
        if let Some(one_of) = sch.get("oneOf") {
            let variants = one_of
                .items()
                .iter()
                .map(|x| resolve_ref(&x.get_or_empty("$ref").text()))
                .collect();
            let doc = sch
                .get("description")
                .filter(|d| d.truthy())
                .map(Node::text)
                .unwrap_or_else(|| format!("Body of `{}`.", o.id));
            g.insert(
                name,
                crate::gen::Type {
                    kind: Kind::Untagged { variants },
                    area: "token".to_owned(),
                    doc: Some(doc),
                },
            );
        } else {
            let area = if o.spec == "channel-access-token.yml" {
                "token"
            } else {
                "module"
            };
            g.register_struct(&name, sch, area);
        }
    }
}

/// `operations.rs` and `methods.rs`.
pub fn emit_client(g: &mut Gen<'_>, ops: &[Op<'_>]) -> Result<(String, String), String> {
    let mut opsrc = String::from(crate::emit::HEADER);
    opsrc += "//! The registry of every LINE operation this client implements.\n\n";
    opsrc += "use super::{AuthScheme, Host, HttpMethod, Operation};\nuse crate::ratelimit::RateClass;\nuse crate::retry::Idempotency;\n\n";
    for o in ops {
        let host = host_of(&o.server).ok_or_else(|| format!("{}: unknown server {}", o.id, o.server))?;
        opsrc += &format!("/// `{} {}` ({}).\n", o.method, o.path, o.id);
        opsrc += &format!(
            "pub const {}: Operation = Operation {{\n    id: {},\n    method: HttpMethod::{},\n    path: {},\n    host: {host},\n    spec: {},\n    rate_class: RateClass::{},\n    retry_key: {},\n    idempotency: Idempotency::{},\n    auth: AuthScheme::{},\n}};\n\n",
            o.konst,
            rust_str(&o.id),
            capitalize(&o.method),
            rust_str(&o.path),
            rust_str(&o.spec),
            o.rate,
            o.retry_key,
            if o.idempotent { "Idempotent" } else { "NotIdempotent" },
            o.auth
        );
    }
    opsrc += "/// Every operation, in spec order.\npub static ALL: &[&Operation] = &[\n";
    for o in ops {
        opsrc += &format!("    &{},\n", o.konst);
    }
    opsrc += "];\n";

    let mut m = String::from(crate::emit::HEADER);
    m += "//! One request builder per LINE operation, declared with `operation!` (see `request.rs`).\n\n";
    m += "use super::request::operation;\nuse crate::model::*;\n\n";
    for o in ops {
        let inputs = inputs(g, o);
        let (args, setters): (Vec<&Input>, Vec<&Input>) = inputs.iter().partition(|i| i.required);
        let inner = match &o.success {
            None => None,
            Some((ct, sch)) if ct == "application/json" => Some(body_type(sch, "serde_json::Value")),
            Some(_) => None,
        };
        let resp = match (&o.success, o.retry_key) {
            (_, true) => format!("sent({})", inner.unwrap_or_else(|| "()".to_owned())),
            (None, false) => "empty".to_owned(),
            (Some((ct, _)), false) if ct == "application/json" => format!("json({})", inner.unwrap_or_default()),
            (Some(_), false) => "blob".to_owned(),
        };
        let summary = o.summary.trim();
        let description = o.description.trim();
        let doc = if summary.is_empty() {
            description.split('\n').next().unwrap_or_default().to_owned()
        } else {
            summary.to_owned()
        };
        m += "operation! {\n";
        m += &doc_lines(Some(&doc), "    ");
        if !description.is_empty() && description != doc {
            m += "    ///\n";
            m += &doc_lines(Some(&o.description), "    ");
        }
        m += &format!("    ///\n    /// `{} {}{}` (`{}`).\n", o.method, o.server, o.path, o.id);
        if let Some(url) = &o.doc_url {
            m += &format!("    /// <{url}>\n");
        }
        let arglist: Vec<String> = args.iter().map(|i| i.decl()).collect();
        let head = format!(
            "    fn {}({}) -> {resp} as {} = {}",
            o.fn_name,
            arglist.join(", "),
            o.builder,
            o.konst
        );
        if head.len() <= 116 {
            m += &head;
        } else {
            m += &format!("    fn {}(\n", o.fn_name);
            for a in &arglist {
                m += &format!("        {a},\n");
            }
            m += &format!("    ) -> {resp} as {} = {}", o.builder, o.konst);
        }
        if setters.is_empty() {
            m += " {}\n}\n\n";
            continue;
        }
        m += " {\n";
        for i in &setters {
            m += &doc_lines(Some(&i.doc), "        ");
            m += &format!("        {},\n", i.decl());
        }
        m += "    }\n}\n\n";
    }
    Ok((opsrc, m))
}

/// One input of an operation, as `operation!` declares it: `PLACE name: FORM = "wire"`.
struct Input {
    place: &'static str,
    ident: String,
    form: String,
    wire: Option<String>,
    required: bool,
    /// Doc of its setter (optional inputs).
    doc: String,
}

impl Input {
    fn decl(&self) -> String {
        match &self.wire {
            Some(w) => format!("{} {}: {} = {}", self.place, self.ident, self.form, rust_str(w)),
            None => format!("{} {}: {}", self.place, self.ident, self.form),
        }
    }
}

/// The `operation!` form of a parameter of this type and kind (see `param_type`).
fn param_form(ty: &str, kind: &str) -> String {
    match kind {
        "str" => "str".to_owned(),
        "copy" => format!("num({ty})"),
        "array_enum" => format!("list({ty})"),
        "array_str" => "list(&'a str)".to_owned(),
        _ => format!("choice({ty})"),
    }
}

/// The first paragraph of a parameter's description, or a plain line.
fn param_doc(prm: Option<&Node>, fallback: String) -> String {
    prm.and_then(|p| p.get("description"))
        .filter(|d| d.truthy())
        .map(|d| {
            d.text()
                .trim()
                .split("\n\n")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|d| !d.is_empty())
        .unwrap_or(fallback)
}

/// Every input of an operation, in the order they fill the request.
fn inputs(g: &mut Gen<'_>, o: &Op<'_>) -> Vec<Input> {
    let mut out = Vec::new();
    let input =
        |place: &'static str, ident: String, form: String, wire: Option<&str>, required: bool, doc: String| Input {
            place,
            ident,
            form,
            wire: wire.map(str::to_owned),
            required,
            doc,
        };
    for pp in path_params(&o.path) {
        let stand_in = string_param(&pp);
        let (ty, kind) = match path_param(o, &pp) {
            Some(prm) => param_type(g, o, prm),
            None => param_type(g, o, &stand_in),
        };
        out.push(input(
            "path",
            field_ident(&pp),
            param_form(&ty, &kind),
            Some(&pp),
            true,
            String::new(),
        ));
    }
    if let Some((ct, sch)) = &o.body {
        match ct.as_str() {
            "application/json" => {
                let form = format!("body({})", body_type(sch, "serde_json::Value"));
                out.push(input("json", "body".to_owned(), form, None, true, String::new()));
            }
            "application/x-www-form-urlencoded" => {
                let form = format!("body({})", body_type(sch, &format!("{}Request", pascal(&o.id))));
                out.push(input("form", "body".to_owned(), form, None, true, String::new()));
            }
            "multipart/form-data" => {
                let req: Vec<String> = sch.get_or_empty("required").items().iter().map(Node::text).collect();
                for (pname, psch) in sch.get_or_empty("properties").entries() {
                    let (place, form) = if psch.str_of("format") == Some("binary") {
                        ("file", "bytes".to_owned())
                    } else {
                        let form = match psch.str_of("type") {
                            Some("integer") => "num(i64)",
                            Some("boolean") => "num(bool)",
                            _ => "str",
                        };
                        ("part", form.to_owned())
                    };
                    let doc = param_doc(Some(psch), format!("The `{pname}` part of the form."));
                    out.push(input(
                        place,
                        field_ident(pname),
                        form,
                        Some(pname),
                        req.contains(pname),
                        doc,
                    ));
                }
            }
            _ => {
                out.push(input(
                    "raw",
                    "body".to_owned(),
                    "bytes".to_owned(),
                    None,
                    true,
                    String::new(),
                ));
                out.push(input(
                    "content_type",
                    "content_type".to_owned(),
                    "str".to_owned(),
                    None,
                    true,
                    String::new(),
                ));
            }
        }
    }
    for prm in &o.params {
        let pname = param_name(prm);
        let required = prm.has("required");
        match param_in(prm).as_str() {
            "query" => {
                let (ty, kind) = param_type(g, o, prm);
                let doc = param_doc(Some(prm), format!("The `{pname}` query parameter."));
                out.push(input(
                    "query",
                    field_ident(&pname),
                    param_form(&ty, &kind),
                    Some(&pname),
                    required,
                    doc,
                ));
            }
            "header" if pname == "X-Line-Retry-Key" => {
                let doc = "The retry key (`X-Line-Retry-Key`): pass the key you persisted to resume a send after\n\
                           a crash. Without it the request gets a fresh one. The key is reused on every automatic\n\
                           retry, and a 409 for it is returned as [`Sent::Duplicate`](crate::client::Sent::Duplicate)."
                    .to_owned();
                out.push(input(
                    "retry_key",
                    "retry_key".to_owned(),
                    "key".to_owned(),
                    None,
                    false,
                    doc,
                ));
            }
            "header" => {
                let doc = param_doc(Some(prm), format!("The `{pname}` header."));
                let ident = field_ident(&pname.replace("X-Line-", ""));
                out.push(input("header", ident, "str".to_owned(), Some(&pname), required, doc));
            }
            _ => {}
        }
    }
    if o.auth == "Basic" {
        out.push(input(
            "basic_id",
            "client_id".to_owned(),
            "str".to_owned(),
            None,
            true,
            String::new(),
        ));
        out.push(input(
            "basic_secret",
            "client_secret".to_owned(),
            "secret".to_owned(),
            None,
            true,
            String::new(),
        ));
    }
    out
}

/// A JSON value as Python's `json.dumps` writes it.
#[derive(Clone, Debug)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn set(&mut self, key: &str, value: Json) {
        if let Json::Obj(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => m.push((key.to_owned(), value)),
            }
        }
    }

    /// `{"a": 1, "b": [true, null]}`.
    pub fn dumps(&self) -> String {
        match self {
            Json::Null => "null".to_owned(),
            Json::Bool(b) => b.to_string(),
            Json::Int(i) => i.to_string(),
            Json::Float(f) => format!("{f:?}"),
            Json::Str(s) => json_str(s),
            Json::Arr(a) => format!("[{}]", a.iter().map(Json::dumps).collect::<Vec<_>>().join(", ")),
            Json::Obj(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}: {}", json_str(k), v.dumps()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            '\x08' => out += "\\b",
            '\x0c' => out += "\\f",
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out += &format!("\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A minimal JSON value that deserializes into `ty` (required fields only).
pub fn sample_json(g: &Gen<'_>, ty: &str, depth: usize) -> Json {
    if depth > 6 {
        return Json::Null;
    }
    if ty.starts_with("Vec<") {
        return Json::Arr(Vec::new());
    }
    if ty.starts_with("std::collections::BTreeMap") || ty.starts_with("serde_json::Map") {
        return Json::Obj(Vec::new());
    }
    if ty == "String" || ty == "crate::secret::SecretString" || ty.starts_with("crate::ids::") {
        return Json::Str("x".to_owned());
    }
    match ty {
        "i32" | "i64" => return Json::Int(1),
        "f64" => return Json::Float(1.5),
        "bool" => return Json::Bool(true),
        "serde_json::Value" => return Json::Obj(Vec::new()),
        _ => {}
    }
    let Some(t) = g.ty(ty) else { return Json::Null };
    match &t.kind {
        Kind::Enum { values } => Json::Str(values[0].clone()),
        Kind::Alias { target } => sample_json(g, target, depth + 1),
        Kind::Union { tag, variants, .. } => {
            let (vtag, target) = &variants[0];
            let mut v = sample_json(g, target, depth + 1);
            v.set(tag, Json::Str(vtag.clone()));
            v
        }
        Kind::Untagged { variants } => sample_json(g, &variants[0], depth + 1),
        Kind::Struct { fields, tag } => {
            let mut out = Json::Obj(Vec::new());
            if let Some((tk, tv)) = tag {
                out.set(tk, Json::Str(tv.clone()));
            }
            for f in fields.iter().filter(|f| f.required) {
                out.set(&f.json, sample_json(g, &f.ty, depth + 1));
            }
            out
        }
    }
}

/// `tests/common/generated_calls.rs`: builds every operation's request once with sample arguments.
pub fn test_harness(g: &mut Gen<'_>, ops: &[Op<'_>]) -> String {
    let mut out = String::from(crate::emit::HEADER);
    out +=
        "//! Every operation's builder with sample arguments, keyed by operationId. Used by tests/operations.rs.\n\n";
    out += "use line_core::client::request::Request;\nuse line_core::client::Client;\nuse line_core::model::*;\n\n";
    out += "type Fut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), line_core::Error>> + Send + 'a>>;\n\n";
    out += "fn sample<T: serde::de::DeserializeOwned>(json: &str) -> T {\n    serde_json::from_str(json).expect(\"sample body parses\")\n}\n\n";
    out += "/// One operation's builder, made with sample arguments.\npub struct Call {\n";
    out += "    /// The operationId.\n    pub id: &'static str,\n";
    out += "    /// The content type of the spec's request body (empty: none).\n    pub content_type: &'static str,\n";
    out += "    /// `try_into_request()` of the builder.\n    pub request: fn(&Client) -> Result<Request, line_core::Error>,\n";
    out += "    /// The builder, awaited.\n    pub send: fn(&Client) -> Fut<'_>,\n}\n\n";
    out +=
        "macro_rules! calls {\n    ($($id:literal $ct:literal => |$c:ident| $e:expr,)*) => {\n        vec![$(Call {\n";
    out += "            id: $id,\n            content_type: $ct,\n            request: |$c| $e.try_into_request(),\n";
    out += "            send: |$c| Box::pin(async move { $e.await.map(|_| ()) }),\n        },)*]\n    };\n}\n\n";
    out += "/// Every operation, in spec order.\n";
    out += "pub fn calls() -> Vec<Call> {\n    calls! {\n";
    for o in ops {
        let mut args: Vec<String> = Vec::new();
        for i in inputs(g, o).iter().filter(|i| i.required) {
            let arg = match (i.place, i.form.as_str()) {
                ("json", form) | ("form", form) => {
                    let bty = &form["body(".len()..form.len() - 1];
                    match g.ty(bty).map(|t| t.kind.clone()) {
                        Some(Kind::Untagged { variants }) => {
                            let v = &variants[0];
                            let js = sample_json(g, v, 0);
                            format!("{bty}::from(sample::<{v}>({}))", rust_str(&js.dumps()))
                        }
                        _ if bty == "serde_json::Value" => "serde_json::json!({})".to_owned(),
                        _ => {
                            let js = sample_json(g, bty, 0);
                            format!("sample::<{bty}>({})", rust_str(&js.dumps()))
                        }
                    }
                }
                ("raw", _) => "bytes::Bytes::from_static(b\"\\x89PNG\")".to_owned(),
                ("content_type", _) => "\"image/png\"".to_owned(),
                ("file", _) => "bytes::Bytes::from_static(b\"U1\\nU2\\n\")".to_owned(),
                ("basic_id", _) => "\"1234\"".to_owned(),
                ("basic_secret", _) => "&line_core::ChannelSecret::new(\"s\")".to_owned(),
                ("path", "str") => "\"p1\"".to_owned(),
                ("path", _) => "7".to_owned(),
                ("part", "str") | ("header", _) => "\"d\"".to_owned(),
                (_, "str") => "\"q1\"".to_owned(),
                (_, "num(bool)") => "true".to_owned(),
                (_, form) if form.starts_with("num(") => "3".to_owned(),
                (_, form) if form.starts_with("choice(") => {
                    let ty = &form["choice(".len()..form.len() - 1];
                    let first = match g.ty(ty).map(|t| &t.kind) {
                        Some(Kind::Enum { values }) => values[0].clone(),
                        _ => String::new(),
                    };
                    format!("{ty}::from({})", rust_str(&first))
                }
                _ => "&[]".to_owned(),
            };
            args.push(arg);
        }
        let ct = o.body.as_ref().map(|(ct, _)| ct.as_str()).unwrap_or_default();
        out += &format!(
            "        {} {} => |c| c.{}({}),\n",
            rust_str(&o.id),
            rust_str(ct),
            o.fn_name,
            args.join(", ")
        );
    }
    out += "    }\n}\n";
    out
}
