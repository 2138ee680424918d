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
    m += "//! One method per LINE operation.\n\n";
    m += "#![allow(clippy::too_many_arguments)]\n\n";
    m += "use bytes::Bytes;\n\nuse super::operations as op;\nuse super::{Blob, Call, Client, Response, Sent};\nuse crate::model::*;\nuse crate::Error;\n\n";
    m += "impl Client {\n";
    for o in ops {
        let mut args: Vec<String> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        let mut fmt_path = o.path.clone();
        let mut fmt_args: Vec<String> = Vec::new();
        let pp_list = path_params(&o.path);
        for pp in &pp_list {
            let ident = field_ident(pp);
            let stand_in = string_param(pp);
            let (ty, _) = match path_param(o, pp) {
                Some(prm) => param_type(g, o, prm),
                None => param_type(g, o, &stand_in),
            };
            if ty == "str" {
                args.push(format!("{ident}: &str"));
                fmt_args.push(format!("super::path_segment({ident})"));
            } else {
                args.push(format!("{ident}: {ty}"));
                fmt_args.push(ident.clone());
            }
            fmt_path = fmt_path.replace(&format!("{{{pp}}}"), "{}");
        }
        let path_expr = if fmt_args.is_empty() {
            format!("{}.to_owned()", rust_str(&o.path))
        } else {
            format!("format!({}, {})", rust_str(&fmt_path), fmt_args.join(", "))
        };
        lines.push(format!(
            "        let mut call = Call::new(&op::{}, {path_expr});\n",
            o.konst
        ));
        if let Some((ct, sch)) = &o.body {
            match ct.as_str() {
                "application/json" => {
                    args.push(format!("body: &{}", body_type(sch, "serde_json::Value")));
                    lines.push("        call.json(body)?;\n".to_owned());
                }
                "application/x-www-form-urlencoded" => {
                    args.push(format!(
                        "body: &{}",
                        body_type(sch, &format!("{}Request", pascal(&o.id)))
                    ));
                    lines.push("        call.form(body)?;\n".to_owned());
                }
                "multipart/form-data" => {
                    let req: Vec<String> = sch.get_or_empty("required").items().iter().map(Node::text).collect();
                    for (pname, psch) in sch.get_or_empty("properties").entries() {
                        let ident = field_ident(pname);
                        if psch.str_of("format") == Some("binary") {
                            args.push(format!("{ident}: impl Into<Bytes>"));
                            lines.push(format!(
                                "        call.multipart_file({}, \"text/plain\", {ident}.into());\n",
                                rust_str(pname)
                            ));
                        } else {
                            let rty = match psch.str_of("type") {
                                Some("integer") => "i64",
                                Some("boolean") => "bool",
                                _ => "&str",
                            };
                            if req.contains(pname) {
                                args.push(format!("{ident}: {rty}"));
                                lines.push(format!("        call.multipart_text({}, {ident});\n", rust_str(pname)));
                            } else {
                                args.push(format!("{ident}: Option<{rty}>"));
                                lines.push(format!(
                                    "        if let Some(v) = {ident} {{\n            call.multipart_text({}, v);\n        }}\n",
                                    rust_str(pname)
                                ));
                            }
                        }
                    }
                }
                _ => {
                    args.push("body: impl Into<Bytes>".to_owned());
                    args.push("content_type: &str".to_owned());
                    lines.push("        call.raw(body.into(), content_type);\n".to_owned());
                }
            }
        }
        for prm in &o.params {
            let pname = param_name(prm);
            match param_in(prm).as_str() {
                "query" => {
                    let ident = field_ident(&pname);
                    let (ty, kind) = param_type(g, o, prm);
                    let required = prm.has("required");
                    let aty = match kind.as_str() {
                        "str" => "&str".to_owned(),
                        "array_enum" => format!("&[{ty}]"),
                        "array_str" => "&[&str]".to_owned(),
                        "enum" | "enum_or_struct" => format!("&{ty}"),
                        _ => ty.clone(),
                    };
                    let call = if kind == "array_enum" || kind == "array_str" {
                        "query_all"
                    } else {
                        "query"
                    };
                    if required {
                        args.push(format!("{ident}: {aty}"));
                        lines.push(format!("        call.{call}({}, {ident});\n", rust_str(&pname)));
                    } else {
                        args.push(format!("{ident}: Option<{aty}>"));
                        lines.push(format!(
                            "        if let Some(v) = {ident} {{\n            call.{call}({}, v);\n        }}\n",
                            rust_str(&pname)
                        ));
                    }
                }
                "header" => {
                    if pname == "X-Line-Retry-Key" {
                        args.push("retry_key: Option<crate::RetryKey>".to_owned());
                        lines.push("        call.retry_key(retry_key);\n".to_owned());
                    } else {
                        let ident = field_ident(&pname.replace("X-Line-", ""));
                        args.push(format!("{ident}: Option<&str>"));
                        lines.push(format!(
                            "        if let Some(v) = {ident} {{\n            call.header({}, v);\n        }}\n",
                            rust_str(&pname)
                        ));
                    }
                }
                _ => {}
            }
        }
        if o.auth == "Basic" {
            args.push("client_id: &str".to_owned());
            args.push("client_secret: &crate::ChannelSecret".to_owned());
            lines.push("        call.basic_auth(client_id, client_secret);\n".to_owned());
        }
        let (mut rty, mut finish) = match &o.success {
            None => ("()".to_owned(), "empty()"),
            Some((ct, sch)) if ct == "application/json" => (body_type(sch, "serde_json::Value"), "json()"),
            Some(_) => ("Blob".to_owned(), "blob()"),
        };
        if o.retry_key {
            rty = format!("Sent<{rty}>");
            finish = "sent()";
        }
        let summary = o.summary.trim();
        let description = o.description.trim();
        let doc = if summary.is_empty() {
            description.split('\n').next().unwrap_or_default().to_owned()
        } else {
            summary.to_owned()
        };
        m += &doc_lines(Some(&doc), "    ");
        if !description.is_empty() && description != doc {
            m += "    ///\n";
            m += &doc_lines(Some(&o.description), "    ");
        }
        m += &format!("    ///\n    /// `{} {}{}` (`{}`).\n", o.method, o.server, o.path, o.id);
        if let Some(url) = &o.doc_url {
            m += &format!("    /// <{url}>\n");
        }
        if o.retry_key {
            m += "    ///\n    /// `retry_key`: pass the key you persisted to resume a send after a crash; `None` makes a fresh one.\n    /// The same key is reused on every automatic retry, and a 409 for it is returned as [`Sent::Duplicate`].\n";
        }
        let argstr: String = args.iter().map(|a| format!(", {a}")).collect();
        m += &format!(
            "    pub async fn {}(&self{argstr}) -> Result<Response<{rty}>, Error> {{\n",
            o.fn_name
        );
        if lines.len() == 1 {
            lines[0] = lines[0].replace("let mut call", "let call");
        }
        m += &lines.concat();
        m += &format!("        self.execute(call).await?.{finish}\n    }}\n\n");
    }
    m += "}\n";
    Ok((opsrc, m))
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

/// `tests/common/generated_calls.rs`: calls every client method once with sample arguments.
pub fn test_harness(g: &mut Gen<'_>, ops: &[Op<'_>]) -> String {
    let mut out = String::from(crate::emit::HEADER);
    out += "//! Calls every client method once, keyed by operationId. Used by tests/operations.rs.\n\n";
    out += "use line_core::client::Client;\nuse line_core::model::*;\n\n";
    out += "type Fut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), line_core::Error>> + Send + 'a>>;\n\n";
    out += "fn sample<T: serde::de::DeserializeOwned>(json: &str) -> T {\n    serde_json::from_str(json).expect(\"sample body parses\")\n}\n\n";
    out += "/// A call of one client method with sample arguments.\npub type Call = fn(&Client) -> Fut<'_>;\n\n";
    out += "/// (operationId, call)\n";
    out += "pub fn calls() -> Vec<(&'static str, Call)> {\n    vec![\n";
    for o in ops {
        let mut args: Vec<String> = Vec::new();
        for pp in path_params(&o.path) {
            let stand_in = string_param(&pp);
            let (ty, _) = match path_param(o, &pp) {
                Some(prm) => param_type(g, o, prm),
                None => param_type(g, o, &stand_in),
            };
            args.push(if ty == "str" {
                "\"p1\"".to_owned()
            } else {
                "7".to_owned()
            });
        }
        if let Some((ct, sch)) = &o.body {
            match ct.as_str() {
                "application/json" => {
                    let bty = body_type(sch, "serde_json::Value");
                    let js = if bty == "serde_json::Value" {
                        Json::Obj(Vec::new())
                    } else {
                        sample_json(g, &bty, 0)
                    };
                    args.push(format!("&sample::<{bty}>({})", rust_str(&js.dumps())));
                }
                "application/x-www-form-urlencoded" => {
                    let bty = body_type(sch, &format!("{}Request", pascal(&o.id)));
                    match g.ty(&bty).map(|t| t.kind.clone()) {
                        Some(Kind::Untagged { variants }) => {
                            let v = &variants[0];
                            let js = sample_json(g, v, 0);
                            args.push(format!("&{bty}::from(sample::<{v}>({}))", rust_str(&js.dumps())));
                        }
                        _ => {
                            let js = sample_json(g, &bty, 0);
                            args.push(format!("&sample::<{bty}>({})", rust_str(&js.dumps())));
                        }
                    }
                }
                "multipart/form-data" => {
                    let req: Vec<String> = sch.get_or_empty("required").items().iter().map(Node::text).collect();
                    for (pname, psch) in sch.get_or_empty("properties").entries() {
                        if psch.str_of("format") == Some("binary") {
                            args.push("bytes::Bytes::from_static(b\"U1\\nU2\\n\")".to_owned());
                        } else if req.contains(pname) {
                            args.push(
                                match psch.str_of("type") {
                                    Some("integer") => "5",
                                    Some("boolean") => "false",
                                    _ => "\"d\"",
                                }
                                .to_owned(),
                            );
                        } else {
                            args.push("None".to_owned());
                        }
                    }
                }
                _ => {
                    args.push("bytes::Bytes::from_static(b\"\\x89PNG\")".to_owned());
                    args.push("\"image/png\"".to_owned());
                }
            }
        }
        for prm in &o.params {
            match param_in(prm).as_str() {
                "query" => {
                    let (ty, kind) = param_type(g, o, prm);
                    let arg = if !prm.has("required") {
                        "None".to_owned()
                    } else {
                        match kind.as_str() {
                            "str" => "\"q1\"".to_owned(),
                            "copy" => if ty == "bool" { "true" } else { "3" }.to_owned(),
                            "enum" | "enum_or_struct" => {
                                let first = match g.ty(&ty).map(|t| &t.kind) {
                                    Some(Kind::Enum { values }) => values[0].clone(),
                                    _ => String::new(),
                                };
                                format!("&{ty}::from({})", rust_str(&first))
                            }
                            _ => "&[]".to_owned(),
                        }
                    };
                    args.push(arg);
                }
                "header" => args.push("None".to_owned()),
                _ => {}
            }
        }
        if o.auth == "Basic" {
            args.push("\"1234\"".to_owned());
            args.push("&line_core::ChannelSecret::new(\"s\")".to_owned());
        }
        out += &format!(
            "        ({}, |c| Box::pin(async move {{ c.{}({}).await.map(|_| ()) }})),\n",
            rust_str(&o.id),
            o.fn_name,
            args.join(", ")
        );
    }
    out += "    ]\n}\n";
    out
}
