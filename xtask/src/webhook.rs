//! The webhook events: the spec's additions, and the direct reader (the fast
//! path of `webhook::parse`).

use crate::emit::{variant_names, HEADER};
use crate::gen::{Gen, Kind};
use crate::names::{rust_str, snake};
use crate::node::Node;
use crate::tables::BATCH_ITEM;

fn s(v: &str) -> Node {
    Node::Str(v.to_owned())
}

fn map(entries: Vec<(&str, Node)>) -> Node {
    Node::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// `messageEdited` landed upstream after the spec snapshot; add it the same way as MessageEvent.
pub fn add_message_edited(spec: &mut Node) -> Result<(), String> {
    let schemas = spec
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .ok_or("webhook.yml: no components.schemas")?;
    schemas
        .get_mut("Event")
        .and_then(|e| e.get_mut("discriminator"))
        .and_then(|d| d.get_mut("mapping"))
        .ok_or("webhook.yml: Event has no discriminator mapping")?
        .set("messageEdited", s("#/components/schemas/MessageEditedEvent"));
    let event = map(vec![
        (
            "description",
            s("Webhook event object which contains the edited message."),
        ),
        ("type", s("object")),
        ("required", Node::Seq(vec![s("message")])),
        (
            "allOf",
            Node::Seq(vec![
                map(vec![("$ref", s("#/components/schemas/Event"))]),
                map(vec![
                    ("type", s("object")),
                    (
                        "properties",
                        map(vec![
                            (
                                "replyToken",
                                map(vec![
                                    ("type", s("string")),
                                    ("description", s("Reply token used to send reply message to this event")),
                                ]),
                            ),
                            ("message", map(vec![("$ref", s("#/components/schemas/MessageContent"))])),
                        ]),
                    ),
                ]),
            ]),
        ),
    ]);
    schemas.set("MessageEditedEvent", event);
    Ok(())
}

fn reader_fn(name: &str) -> String {
    format!("read_{}", snake(name))
}

/// An expression of type `R<ty>` that reads one value with `r: &mut Reader`.
fn reader_expr(g: &Gen<'_>, ty: &str) -> Result<String, String> {
    Ok(match ty {
        "String" => "r.string()".to_owned(),
        "i64" | "i32" | "bool" => format!("r.{ty}()"),
        _ if ty.starts_with("crate::ids::") => "r.string_as()".to_owned(),
        "std::collections::BTreeMap<String, String>" => "r.string_map()".to_owned(),
        "serde_json::Value" => "r.value()".to_owned(),
        "serde_json::Map<String, serde_json::Value>" => "r.object()".to_owned(),
        _ if ty.starts_with("Box<") => format!("{}.map(Box::new)", reader_expr(g, &ty[4..ty.len() - 1])?),
        "serde_json::Number" => "r.number()".to_owned(),
        _ if ty.starts_with("Vec<") => {
            let inner = &ty[4..ty.len() - 1];
            if inner == BATCH_ITEM {
                // A request's events: one that cannot be read directly is decided
                // on its own, so it never fails the others.
                format!("r.events({})", reader_fn(inner))
            } else {
                format!("r.array(|r| {})", reader_expr(g, inner)?)
            }
        }
        _ => match g.ty(ty).map(|t| &t.kind) {
            Some(Kind::Enum { .. }) => "r.string_as()".to_owned(),
            Some(Kind::Struct { .. }) => format!("{}(r, false)", reader_fn(ty)),
            Some(Kind::Union { .. }) => format!("{}(r)", reader_fn(ty)),
            _ => return Err(format!("no reader for {ty}")),
        },
    })
}

/// The direct reader of the webhook model (see `webhook/reader.rs`): one
/// function per struct and union, filling the same `Fields` builders as the
/// serde impls, so both paths give the same result.
pub fn emit_reader(g: &Gen<'_>) -> Result<String, String> {
    let mut out = String::from(HEADER);
    out += "//! Direct readers for the webhook model: the fast path of `webhook::parse`.\n";
    out += "//! They fill the same `Fields` builders as the serde impls.\n\n";
    out += "use std::borrow::Cow;\n\n";
    out += "use super::event::*;\nuse super::reader::{Bail, Later, Reader, R};\nuse crate::wire::Fields;\n\n";
    for (name, t) in g.types() {
        match &t.kind {
            Kind::Struct { fields, tag } => {
                let f_name = reader_fn(name);
                out += &format!("/// Reads one property of a `{name}` into its builder.\n");
                out += &format!("fn {f_name}_field(r: &mut Reader<'_>, f: &mut {name}Fields, key: &str) -> R<()> {{\n");
                out += "    match key {\n";
                for fd in fields {
                    let expr = reader_expr(g, &fd.ty)?;
                    let j = rust_str(&fd.json);
                    if fd.required {
                        out += &format!("        {j} => r.req(&mut f.{}, |r| {expr})?,\n", fd.ident);
                    } else {
                        out += &format!(
                            "        {j} => r.opt(&mut f.{}, &mut f.extra, {j}, |r| {expr})?,\n",
                            fd.ident
                        );
                    }
                }
                if let Some((tk, _)) = tag {
                    // A variant is only read through its union (see
                    // `webhook_fixups`), which took the tag: this one is repeated.
                    out += &format!("        {} => r.repeated()?,\n", rust_str(tk));
                }
                out += "        _ => r.other(&mut f.extra, key)?,\n    }\n    Ok(())\n}\n\n";
                out += &format!("/// Reads a `{name}`; `resumed` when a union already opened it and took its tag.\n");
                out += &format!("pub(crate) fn {f_name}(r: &mut Reader<'_>, resumed: bool) -> R<{name}> {{\n");
                out += &format!("    let mut f = {name}Fields::default();\n");
                out += "    let first = r.open(resumed)?;\n";
                out += &format!("    r.members(&mut f, first, {f_name}_field)?;\n");
                out += "    f.finish::<Bail>()\n}\n\n";
            }
            Kind::Union { tag, variants, .. } => {
                let f_name = reader_fn(name);
                let vnames = variant_names(variants);
                let tagname = rust_str(tag);
                out += &format!("/// Reads a `{name}`, by its `\"{tag}\"`.\n");
                out += &format!("pub(crate) fn {f_name}(r: &mut Reader<'_>) -> R<{name}> {{\n");
                out += "    let start = r.value_start();\n";
                out += "    let mut first = r.open(false)?;\n";
                out += "    let key = r.key(&mut first)?.ok_or(Bail)?;\n";
                out += &format!("    if key != {tagname} {{\n        return {f_name}_later(r, start, key);\n    }}\n");
                out += "    let tag = r.str()?;\n";
                out += "    Ok(match &*tag {\n";
                for (vtag, v, target) in &vnames {
                    out += &format!(
                        "        {} => {name}::{v}({}(r, true)?),\n",
                        rust_str(vtag),
                        reader_fn(target)
                    );
                }
                out += "        _ => {\n";
                out += "            let raw = r.unknown(start, &[])?;\n";
                out += &format!("            {name}::Unknown {{ kind: tag.into_owned(), raw }}\n        }}\n");
                out += "    })\n}\n\n";
                // The tag after other properties: their values are stepped over and
                // read once the tag is known, as the serde path buffers and replays them.
                out += &format!("/// Reads the rest of a `{name}` whose first property, `key`, is not its tag.\n");
                out += &format!(
                    "fn {f_name}_later<'a>(r: &mut Reader<'a>, start: usize, mut key: Cow<'a, str>) -> R<{name}> {{\n"
                );
                out += "    let mut later = Later::new();\n";
                out += "    let tag = loop {\n";
                out += "        later.push(r.later(key)?);\n";
                out += "        key = r.key(&mut false)?.ok_or(Bail)?;\n";
                out += &format!("        if key == {tagname} {{\n            break r.str()?;\n        }}\n");
                out += "    };\n";
                out += "    Ok(match &*tag {\n";
                for (vtag, v, target) in &vnames {
                    out += &format!("        {} => {{\n", rust_str(vtag));
                    out += &format!("            let mut f = {target}Fields::default();\n");
                    out += &format!("            r.replay(&mut f, &later, {}_field)?;\n", reader_fn(target));
                    out += &format!("            {name}::{v}(f.finish::<Bail>()?)\n        }}\n");
                }
                out += "        _ => {\n";
                out += "            let raw = r.unknown(start, &later)?;\n";
                out += &format!("            {name}::Unknown {{ kind: tag.into_owned(), raw }}\n        }}\n");
                out += "    })\n}\n\n";
            }
            _ => {}
        }
    }
    Ok(out)
}
