//! Rich menus: objects, images, default, per-user and bulk links, aliases, batches.

use axum::http::StatusCode;
use bytes::Bytes;
use line_core::limits::{
    MAX_RICH_MENUS, MAX_RICH_MENU_ALIASES, MAX_RICH_MENU_AREAS, MAX_RICH_MENU_BATCH_OPERATIONS,
    MAX_RICH_MENU_BULK_USERS, MAX_RICH_MENU_CHAT_BAR_TEXT, MAX_RICH_MENU_NAME,
};
use line_core::model::{
    CreateRichMenuAliasRequest, RichMenuAliasListResponse, RichMenuAliasResponse, RichMenuBatchOperation,
    RichMenuBatchProgressResponse, RichMenuBatchRequest, RichMenuBulkLinkRequest, RichMenuBulkUnlinkRequest,
    RichMenuIdResponse, RichMenuListResponse, RichMenuRequest, RichMenuResponse, UpdateRichMenuAliasRequest,
};

use super::message::iso;
use crate::error::LineError;
use crate::handler::{Answer, Ctx, Reply, Shared};
use crate::state::{BatchJob, Job, RichMenu, State};

/// Largest rich-menu image LINE takes.
const MAX_IMAGE_BYTES: usize = 1024 * 1024;

/// Checks a rich-menu object the way LINE's validate endpoint does.
fn check_menu(req: &RichMenuRequest) -> Result<(i64, i64), LineError> {
    let mut details: Vec<(String, String)> = Vec::new();
    let mut dims = (0, 0);
    match &req.size {
        None => details.push(("size".into(), "must not be null".into())),
        Some(size) => match (size.width, size.height) {
            (Some(w), Some(h)) => {
                let mut ok = true;
                if !(800..=2500).contains(&w) {
                    details.push(("size.width".into(), "must be between 800 and 2500".into()));
                    ok = false;
                }
                if h < 250 {
                    details.push(("size.height".into(), "must be at least 250".into()));
                    ok = false;
                }
                if ok && (w as f64) / (h as f64) < 1.45 {
                    details.push(("size".into(), "width/height must be at least 1.45".into()));
                    ok = false;
                }
                if ok {
                    dims = (w, h);
                }
            }
            (None, _) => details.push(("size.width".into(), "must not be null".into())),
            (_, None) => details.push(("size.height".into(), "must not be null".into())),
        },
    }
    if req.selected.is_none() {
        details.push(("selected".into(), "must not be null".into()));
    }
    match &req.name {
        None => details.push(("name".into(), "must not be null".into())),
        Some(n) if n.chars().count() > MAX_RICH_MENU_NAME || n.is_empty() => details.push((
            "name".into(),
            format!("length must be between 1 and {MAX_RICH_MENU_NAME}"),
        )),
        _ => {}
    }
    match &req.chat_bar_text {
        None => details.push(("chatBarText".into(), "must not be null".into())),
        Some(t) if t.chars().count() > MAX_RICH_MENU_CHAT_BAR_TEXT => details.push((
            "chatBarText".into(),
            format!("length must be between 0 and {MAX_RICH_MENU_CHAT_BAR_TEXT}"),
        )),
        _ => {}
    }
    match &req.areas {
        None => details.push(("areas".into(), "must not be null".into())),
        Some(areas) if areas.len() > MAX_RICH_MENU_AREAS => details.push((
            "areas".into(),
            format!("size must be between 0 and {MAX_RICH_MENU_AREAS}"),
        )),
        Some(areas) => {
            for (i, a) in areas.iter().enumerate() {
                match &a.bounds {
                    None => details.push((format!("areas[{i}].bounds"), "must not be null".into())),
                    Some(b) => {
                        let (x, y, w, h) = (
                            b.x.unwrap_or(-1),
                            b.y.unwrap_or(-1),
                            b.width.unwrap_or(-1),
                            b.height.unwrap_or(-1),
                        );
                        if x < 0 || y < 0 || w <= 0 || h <= 0 {
                            details.push((
                                format!("areas[{i}].bounds"),
                                "x, y, width and height must be set and not negative".into(),
                            ));
                        } else if dims != (0, 0) && (x.saturating_add(w) > dims.0 || y.saturating_add(h) > dims.1) {
                            details.push((format!("areas[{i}].bounds"), "must lie inside the rich menu".into()));
                        }
                    }
                }
                if a.action.is_none() {
                    details.push((format!("areas[{i}].action"), "must not be null".into()));
                }
            }
        }
    }
    if details.is_empty() {
        Ok(dims)
    } else {
        Err(LineError::invalid(details))
    }
}

fn response(id: &str, m: &RichMenu) -> RichMenuResponse {
    let r = &m.request;
    RichMenuResponse::new(
        id,
        r.size.clone().unwrap_or_default(),
        r.selected.unwrap_or(false),
        r.name.clone().unwrap_or_default(),
        r.chat_bar_text.clone().unwrap_or_default(),
        r.areas.clone().unwrap_or_default(),
    )
}

fn not_found() -> LineError {
    LineError::not_found("Not found")
}

fn menu_with_image<'a>(st: &'a State, id: &str) -> Result<&'a RichMenu, LineError> {
    let m = st.rich_menus.get(id).ok_or_else(not_found)?;
    if m.image.is_none() {
        return Err(LineError::bad_request(
            "Must upload richmenu image before applying it to user",
        ));
    }
    Ok(m)
}

pub(crate) fn create(ctx: &Ctx) -> Reply {
    let req: RichMenuRequest = ctx.json()?;
    check_menu(&req)?;
    let mut st = ctx.lock();
    if st.rich_menus.len() >= MAX_RICH_MENUS {
        return Err(LineError::bad_request(format!(
            "The maximum number of rich menus ({MAX_RICH_MENUS}) has been reached"
        )));
    }
    let id = st.hex_id("richmenu-");
    st.rich_menu_seq += 1;
    let seq = st.rich_menu_seq;
    st.rich_menus.insert(
        id.clone(),
        RichMenu {
            seq,
            request: req,
            image: None,
        },
    );
    Ok(Answer::json(&RichMenuIdResponse::new(id)))
}

pub(crate) fn validate(ctx: &Ctx) -> Reply {
    let req: RichMenuRequest = ctx.json()?;
    check_menu(&req)?;
    Ok(Answer::ok())
}

pub(crate) fn get(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let id = ctx.param(0);
    let m = st.rich_menus.get(id).ok_or_else(not_found)?;
    Ok(Answer::json(&response(id, m)))
}

pub(crate) fn delete(ctx: &Ctx) -> Reply {
    let mut st = ctx.lock();
    let id = ctx.param(0).to_owned();
    if st.rich_menus.remove(&id).is_none() {
        return Err(not_found());
    }
    st.user_rich_menu.retain(|_, m| *m != id);
    if st.default_rich_menu.as_deref() == Some(id.as_str()) {
        st.default_rich_menu = None;
    }
    Ok(Answer::ok())
}

pub(crate) fn list(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let mut menus: Vec<(&String, &RichMenu)> = st.rich_menus.iter().collect();
    menus.sort_by_key(|(_, m)| m.seq);
    let list = menus.into_iter().map(|(id, m)| response(id, m)).collect::<Vec<_>>();
    Ok(Answer::json(&RichMenuListResponse::new(list)))
}

pub(crate) fn set_image(ctx: &Ctx) -> Reply {
    let content_type = ctx
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let expected = match content_type.as_str() {
        "image/png" => imagesize::ImageType::Png,
        "image/jpeg" => imagesize::ImageType::Jpeg,
        _ => {
            return Err(LineError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be image/jpeg or image/png",
            ))
        }
    };
    if ctx.body.len() > MAX_IMAGE_BYTES {
        return Err(LineError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The image must be at most 1 MB",
        ));
    }
    let kind = imagesize::image_type(&ctx.body).ok();
    if kind != Some(expected) {
        return Err(LineError::bad_request(format!(
            "The image is not a valid {content_type} file"
        )));
    }
    let size = imagesize::blob_size(&ctx.body)
        .map_err(|_| LineError::bad_request("The image dimensions could not be read"))?;
    let mut st = ctx.lock();
    let m = st.rich_menus.get_mut(ctx.param(0)).ok_or_else(not_found)?;
    if m.image.is_some() {
        return Err(LineError::bad_request(
            "An image has already been uploaded to the richmenu",
        ));
    }
    let (w, h) = m
        .request
        .size
        .as_ref()
        .map(|s| (s.width.unwrap_or(0), s.height.unwrap_or(0)))
        .unwrap_or((0, 0));
    if (size.width as i64, size.height as i64) != (w, h) {
        return Err(LineError::bad_request(format!(
            "The image size {}x{} does not match the rich menu size {w}x{h}",
            size.width, size.height
        )));
    }
    m.image = Some((Bytes::clone(&ctx.body), content_type));
    Ok(Answer::ok())
}

pub(crate) fn get_image(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let m = st.rich_menus.get(ctx.param(0)).ok_or_else(not_found)?;
    let (bytes, ct) = m.image.clone().ok_or_else(not_found)?;
    Ok(Answer::bytes(bytes, ct))
}

pub(crate) fn set_default(ctx: &Ctx) -> Reply {
    let mut st = ctx.lock();
    menu_with_image(&st, ctx.param(0))?;
    st.default_rich_menu = Some(ctx.param(0).to_owned());
    Ok(Answer::ok())
}

pub(crate) fn get_default(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let id = st
        .default_rich_menu
        .clone()
        .ok_or_else(|| LineError::not_found("no default richmenu"))?;
    Ok(Answer::json(&RichMenuIdResponse::new(id)))
}

pub(crate) fn cancel_default(ctx: &Ctx) -> Reply {
    ctx.lock().default_rich_menu = None;
    Ok(Answer::ok())
}

fn check_user_id(property: &str, id: &str) -> Result<(), LineError> {
    let ok = id.len() == line_core::limits::USER_ID_LEN
        && id.starts_with('U')
        && id[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(LineError::property(property, "Invalid user ID"))
    }
}

pub(crate) fn link_user(ctx: &Ctx) -> Reply {
    check_user_id("userId", ctx.param(0))?;
    let mut st = ctx.lock();
    menu_with_image(&st, ctx.param(1))?;
    st.user_rich_menu
        .insert(ctx.param(0).to_owned(), ctx.param(1).to_owned());
    Ok(Answer::ok())
}

pub(crate) fn unlink_user(ctx: &Ctx) -> Reply {
    check_user_id("userId", ctx.param(0))?;
    ctx.lock().user_rich_menu.remove(ctx.param(0));
    Ok(Answer::ok())
}

pub(crate) fn menu_of_user(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let id = st
        .user_rich_menu
        .get(ctx.param(0))
        .cloned()
        .ok_or_else(|| LineError::not_found("the user has no richmenu"))?;
    Ok(Answer::json(&RichMenuIdResponse::new(id)))
}

fn check_bulk(users: &[line_core::ids::UserId]) -> Result<(), LineError> {
    if users.is_empty() || users.len() > MAX_RICH_MENU_BULK_USERS {
        return Err(LineError::property(
            "userIds",
            format!("Size must be between 1 and {MAX_RICH_MENU_BULK_USERS}"),
        ));
    }
    for (i, u) in users.iter().enumerate() {
        check_user_id(&format!("userIds[{i}]"), u.as_str())?;
    }
    Ok(())
}

pub(crate) fn bulk_link(ctx: &Ctx) -> Reply {
    let req: RichMenuBulkLinkRequest = ctx.json()?;
    check_bulk(&req.user_ids)?;
    let mut st = ctx.lock();
    menu_with_image(&st, &req.rich_menu_id)?;
    for u in &req.user_ids {
        st.user_rich_menu
            .insert(u.as_str().to_owned(), req.rich_menu_id.clone());
    }
    Ok(Answer::accepted())
}

pub(crate) fn bulk_unlink(ctx: &Ctx) -> Reply {
    let req: RichMenuBulkUnlinkRequest = ctx.json()?;
    check_bulk(&req.user_ids)?;
    let mut st = ctx.lock();
    for u in &req.user_ids {
        st.user_rich_menu.remove(u.as_str());
    }
    Ok(Answer::accepted())
}

fn check_alias_id(id: &str) -> Result<(), LineError> {
    let ok = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(LineError::property(
            "richMenuAliasId",
            "must be 1 to 32 characters of a-z, A-Z, 0-9, _ and -",
        ))
    }
}

pub(crate) fn create_alias(ctx: &Ctx) -> Reply {
    let req: CreateRichMenuAliasRequest = ctx.json()?;
    check_alias_id(&req.rich_menu_alias_id)?;
    let mut st = ctx.lock();
    if !st.rich_menus.contains_key(&req.rich_menu_id) {
        return Err(LineError::property("richMenuId", "richmenu not found"));
    }
    menu_with_image(&st, &req.rich_menu_id)?;
    if st.aliases.contains_key(&req.rich_menu_alias_id) {
        return Err(LineError::bad_request("conflict richmenu alias id"));
    }
    if st.aliases.len() >= MAX_RICH_MENU_ALIASES {
        return Err(LineError::bad_request(format!(
            "The maximum number of rich menu aliases ({MAX_RICH_MENU_ALIASES}) has been reached"
        )));
    }
    st.aliases.insert(req.rich_menu_alias_id, req.rich_menu_id);
    Ok(Answer::ok())
}

pub(crate) fn get_alias(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let menu = st.aliases.get(ctx.param(0)).ok_or_else(not_found)?;
    Ok(Answer::json(&RichMenuAliasResponse::new(ctx.param(0), menu.clone())))
}

pub(crate) fn update_alias(ctx: &Ctx) -> Reply {
    let req: UpdateRichMenuAliasRequest = ctx.json()?;
    let mut st = ctx.lock();
    if !st.aliases.contains_key(ctx.param(0)) {
        return Err(LineError::bad_request("richmenu alias not found"));
    }
    if !st.rich_menus.contains_key(&req.rich_menu_id) {
        return Err(LineError::property("richMenuId", "richmenu not found"));
    }
    menu_with_image(&st, &req.rich_menu_id)?;
    st.aliases.insert(ctx.param(0).to_owned(), req.rich_menu_id);
    Ok(Answer::ok())
}

pub(crate) fn delete_alias(ctx: &Ctx) -> Reply {
    let mut st = ctx.lock();
    st.aliases.remove(ctx.param(0)).ok_or_else(not_found)?;
    Ok(Answer::ok())
}

pub(crate) fn list_aliases(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let aliases = st
        .aliases
        .iter()
        .map(|(a, m)| RichMenuAliasResponse::new(a.clone(), m.clone()))
        .collect::<Vec<_>>();
    Ok(Answer::json(&RichMenuAliasListResponse::new(aliases)))
}

fn check_batch(st: &State, req: &RichMenuBatchRequest) -> Result<(), LineError> {
    if req.operations.is_empty() || req.operations.len() > MAX_RICH_MENU_BATCH_OPERATIONS {
        return Err(LineError::property(
            "operations",
            format!("Size must be between 1 and {MAX_RICH_MENU_BATCH_OPERATIONS}"),
        ));
    }
    let mut details = Vec::new();
    for (i, op) in req.operations.iter().enumerate() {
        match op {
            RichMenuBatchOperation::Link(l) => {
                if !st.rich_menus.contains_key(&l.from) {
                    details.push((format!("operations[{i}].from"), "richmenu not found".to_owned()));
                }
                if !st.rich_menus.contains_key(&l.to) {
                    details.push((format!("operations[{i}].to"), "richmenu not found".to_owned()));
                }
            }
            RichMenuBatchOperation::Unlink(u) => {
                if !st.rich_menus.contains_key(&u.from) {
                    details.push((format!("operations[{i}].from"), "richmenu not found".to_owned()));
                }
            }
            RichMenuBatchOperation::UnlinkAll(_) => {}
            _ => details.push((format!("operations[{i}].type"), "unknown operation type".to_owned())),
        }
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(LineError::invalid(details))
    }
}

pub(crate) fn batch(shared: &Shared, ctx: &Ctx) -> Reply {
    let req: RichMenuBatchRequest = ctx.json()?;
    let mut st = ctx.lock();
    check_batch(&st, &req)?;
    if let Some(key) = &req.resume_request_key {
        if let Some(prev) = st.batch_resume_keys.get(key) {
            let failed = st.batches.get(prev).is_some_and(|b| b.job.phase == "failed");
            if !failed {
                return Err(LineError::new(
                    StatusCode::CONFLICT,
                    "The resumeRequestKey has already been used",
                ));
            }
        }
        st.batch_resume_keys
            .insert(key.clone(), ctx.request_id.as_str().to_owned());
    }
    let job = Job {
        accepted: ctx.now,
        completed: None,
        due: ctx
            .now
            .saturating_add(shared.config.job_delay_signed())
            .unwrap_or(ctx.now),
        phase: "ongoing",
        success: 0,
        failure: 0,
        target: 0,
        error_code: None,
        failed_description: None,
        pending: None,
    };
    st.batches.insert(
        ctx.request_id.as_str().to_owned(),
        BatchJob {
            job,
            operations: Some(req.operations),
        },
    );
    st.settle(ctx.now);
    Ok(Answer::accepted())
}

pub(crate) fn validate_batch(ctx: &Ctx) -> Reply {
    let req: RichMenuBatchRequest = ctx.json()?;
    check_batch(&ctx.lock(), &req)?;
    Ok(Answer::ok())
}

pub(crate) fn batch_progress(ctx: &Ctx) -> Reply {
    let Some(id) = ctx.query.get("requestId") else {
        return Err(LineError::property("requestId", "must not be null"));
    };
    let st = ctx.lock();
    let b = st.batches.get(id).ok_or_else(not_found)?;
    let mut r = RichMenuBatchProgressResponse::new(b.job.phase, iso(b.job.accepted));
    r.completed_time = b.job.completed.map(iso);
    Ok(Answer::json(&r))
}
