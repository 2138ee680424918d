//! Audiences for uploaded user ids (JSON): create, add ids, get, delete.

use std::collections::HashSet;

use axum::http::StatusCode;
use line_core::limits::MAX_AUDIENCE_UPLOAD_IDS;
use line_core::model::{
    AddAudienceToAudienceGroupRequest, Audience, AudienceGroup as AudienceGroupModel, AudienceGroupCreateRoute,
    AudienceGroupPermission, AudienceGroupStatus, AudienceGroupType, CreateAudienceGroupRequest,
    CreateAudienceGroupResponse, CreateAudienceGroupResponseCreateRoute, CreateAudienceGroupResponsePermission,
    GetAudienceDataResponse,
};

use crate::error::LineError;
use crate::handler::{Answer, AnswerBody, Ctx, Reply};
use crate::state::AudienceGroup;

/// Longest audience description.
const MAX_DESCRIPTION: usize = 120;
/// How long an uploaded audience lives (180 days).
const EXPIRY_SECS: i64 = 180 * 24 * 3600;

fn ids(audiences: Option<&Vec<Audience>>, required: bool) -> Result<Vec<String>, LineError> {
    let list = match audiences {
        None if required => return Err(LineError::property("audiences", "must not be null")),
        None => return Ok(Vec::new()),
        Some(l) => l,
    };
    if list.len() > MAX_AUDIENCE_UPLOAD_IDS || (required && list.is_empty()) {
        return Err(LineError::property(
            "audiences",
            format!("Size must be between 1 and {MAX_AUDIENCE_UPLOAD_IDS}"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            a.id.clone()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| LineError::property(format!("audiences[{i}].id"), "must not be empty"))
        })
        .collect()
}

pub(crate) fn create(ctx: &Ctx) -> Reply {
    let req: CreateAudienceGroupRequest = ctx.json()?;
    let user_ids = ids(req.audiences.as_ref(), false)?;
    store(
        ctx,
        req.description.as_deref(),
        req.is_ifa_audience.unwrap_or(false),
        user_ids,
    )
}

/// The user ids of an uploaded file: one per line, blank lines skipped.
fn file_ids(ctx: &Ctx) -> Result<Vec<String>, LineError> {
    let file = ctx
        .field("file")
        .ok_or_else(|| LineError::property("file", "must not be null"))?;
    let text = std::str::from_utf8(file).map_err(|_| LineError::property("file", "must be UTF-8 text"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn text_field(ctx: &Ctx, name: &str) -> Result<Option<String>, LineError> {
    ctx.field(name)
        .map(|b| {
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| LineError::property(name, "must be UTF-8 text"))
        })
        .transpose()
}

pub(crate) fn create_by_file(ctx: &Ctx) -> Reply {
    let description = text_field(ctx, "description")?;
    let is_ifa = match text_field(ctx, "isIfaAudience")?.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(LineError::property(
                "isIfaAudience",
                format!("must be true or false, got {other:?}"),
            ))
        }
    };
    let user_ids = file_ids(ctx)?;
    store(ctx, description.as_deref(), is_ifa, user_ids)
}

fn store(ctx: &Ctx, description: Option<&str>, is_ifa: bool, user_ids: Vec<String>) -> Reply {
    let description = match description {
        Some(d) if !d.is_empty() && d.chars().count() <= MAX_DESCRIPTION => d.to_owned(),
        _ => {
            return Err(LineError::property(
                "description",
                format!("length must be between 1 and {MAX_DESCRIPTION}"),
            ))
        }
    };
    let mut st = ctx.lock();
    let id = st.next_audience_id;
    st.next_audience_id += 1;
    let mut members = HashSet::new();
    let user_ids: Vec<String> = user_ids.into_iter().filter(|u| members.insert(u.clone())).collect();
    st.audiences.insert(
        id,
        AudienceGroup {
            description: description.clone(),
            user_ids,
            members,
            created: ctx.now,
            is_ifa,
            jobs: 1,
        },
    );
    let created = ctx.now.as_second();
    let mut r = CreateAudienceGroupResponse::new();
    r.audience_group_id = Some(id);
    r.create_route = Some(CreateAudienceGroupResponseCreateRoute::MessagingApi);
    r.kind = Some(AudienceGroupType::Upload);
    r.description = Some(description);
    r.created = Some(created);
    r.permission = Some(CreateAudienceGroupResponsePermission::ReadWrite);
    r.expire_timestamp = Some(created + EXPIRY_SECS);
    r.is_ifa_audience = Some(is_ifa);
    Ok(Answer {
        status: StatusCode::ACCEPTED,
        body: AnswerBody::Json(serde_json::to_value(&r).unwrap_or_default()),
        accepted_request_id: None,
    })
}

fn add_ids(ctx: &Ctx, id: i64, new_ids: Vec<String>) -> Reply {
    let mut st = ctx.lock();
    let Some(group) = st.audiences.get_mut(&id) else {
        return Err(LineError::property("audienceGroupId", "audience group not found"));
    };
    for u in new_ids {
        if group.members.insert(u.clone()) {
            group.user_ids.push(u);
        }
    }
    group.jobs += 1;
    Ok(Answer::accepted())
}

pub(crate) fn add_by_file(ctx: &Ctx) -> Reply {
    let Some(id) = text_field(ctx, "audienceGroupId")? else {
        return Err(LineError::property("audienceGroupId", "must not be null"));
    };
    let id = int_param("audienceGroupId", &id)?;
    let ids = file_ids(ctx)?;
    add_ids(ctx, id, ids)
}

pub(crate) fn add(ctx: &Ctx) -> Reply {
    let req: AddAudienceToAudienceGroupRequest = ctx.json()?;
    let Some(id) = req.audience_group_id else {
        return Err(LineError::property("audienceGroupId", "must not be null"));
    };
    let new_ids = ids(req.audiences.as_ref(), true)?;
    add_ids(ctx, id, new_ids)
}

pub(crate) fn get(ctx: &Ctx) -> Reply {
    let id = int_param("audienceGroupId", ctx.param(0))?;
    let st = ctx.lock();
    let Some(g) = st.audiences.get(&id) else {
        return Err(LineError::bad_request("audience group not found"));
    };
    let mut group = AudienceGroupModel::new();
    group.audience_group_id = Some(id);
    group.kind = Some(AudienceGroupType::Upload);
    group.description = Some(g.description.clone());
    group.status = Some(AudienceGroupStatus::Ready);
    group.audience_count = Some(g.members.len() as i64);
    group.created = Some(g.created.as_second());
    group.is_ifa_audience = Some(g.is_ifa);
    group.permission = Some(AudienceGroupPermission::ReadWrite);
    group.create_route = Some(AudienceGroupCreateRoute::MessagingApi);
    let mut r = GetAudienceDataResponse::new();
    r.audience_group = Some(group);
    r.jobs = Some(Vec::new());
    Ok(Answer::json(&r))
}

pub(crate) fn delete(ctx: &Ctx) -> Reply {
    let id = int_param("audienceGroupId", ctx.param(0))?;
    let mut st = ctx.lock();
    if st.audiences.remove(&id).is_none() {
        return Err(LineError::bad_request("audience group not found"));
    }
    Ok(Answer::ok())
}

/// Parses a positive integer path or query value, naming it on failure.
fn int_param(name: &str, value: &str) -> Result<i64, LineError> {
    value
        .parse::<i64>()
        .map_err(|_| LineError::property(name, format!("must be an integer, got {value:?}")))
}
