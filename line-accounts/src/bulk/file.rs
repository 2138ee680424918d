//! The campaign file: messages and, per channel, the users or the audience it
//! sends to (see `docs/formats.md#campaign-file`).

use std::collections::BTreeMap;
use std::path::Path;

use line_core::model::Message;
use serde::Deserialize;

use super::{Campaign, MAX_MESSAGES};
use crate::account::ChannelId;
use crate::error::{Error, ErrorKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    messages: Vec<Message>,
    audiences: BTreeMap<String, AudienceDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudienceDoc {
    #[serde(default)]
    user_ids: Option<Vec<String>>,
    #[serde(default)]
    audience_group_id: Option<i64>,
}

fn invalid(pointer: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidCampaign {
        field: pointer.into(),
        reason: reason.into(),
    })
}

/// `~` and `/` escaped for a JSON pointer.
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl Campaign {
    /// Reads a campaign file (JSON):
    ///
    /// ```
    /// use line_accounts::bulk::{Audience, Campaign};
    /// use line_accounts::ChannelId;
    ///
    /// let campaign = Campaign::from_json(br#"{
    ///   "messages": [{"type": "text", "text": "Sale starts now"}],
    ///   "audiences": {
    ///     "1650000001": {"user_ids": ["U11111111111111111111111111111111"]},
    ///     "1650000002": {"audience_group_id": 4389303728991}
    ///   }
    /// }"#)?;
    /// assert_eq!(campaign.audience(&ChannelId::new("1650000002")?), Some(&Audience::AudienceGroup(4389303728991)));
    ///
    /// let err = Campaign::from_json(br#"{"messages": [], "audiences": {}}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid campaign, field `/messages`: 1 to 5 messages are allowed, got 0");
    /// # Ok::<(), line_accounts::Error>(())
    /// ```
    ///
    /// Every error is [`ErrorKind::InvalidCampaign`] whose field is the JSON
    /// pointer of the offending value.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        let doc: Document = line_core::error::from_json_slice(json).map_err(|e| match e.kind() {
            line_core::ErrorKind::Parse { pointer, reason } => invalid(pointer.clone(), reason.clone()),
            _ => invalid("", "not a campaign document"),
        })?;
        if doc.messages.is_empty() || doc.messages.len() > MAX_MESSAGES {
            return Err(invalid(
                "/messages",
                format!("1 to {MAX_MESSAGES} messages are allowed, got {}", doc.messages.len()),
            ));
        }
        if doc.audiences.is_empty() {
            return Err(invalid("/audiences", "no accounts"));
        }
        let mut campaign = Campaign::new(doc.messages)?;
        for (key, audience) in doc.audiences {
            let at = format!("/audiences/{}", escape(&key));
            let id = ChannelId::new(key).map_err(|_| invalid(at.clone(), "a channel ID is 1 to 20 digits"))?;
            campaign = match (audience.user_ids, audience.audience_group_id) {
                (Some(users), None) => {
                    if let Some(i) = users.iter().position(String::is_empty) {
                        return Err(invalid(format!("{at}/user_ids/{i}"), "a user ID is empty"));
                    }
                    if users.is_empty() {
                        return Err(invalid(format!("{at}/user_ids"), "no recipients"));
                    }
                    campaign.to_users(id, users)?
                }
                (None, Some(group)) => campaign
                    .to_audience(id, group)
                    .map_err(|_| invalid(format!("{at}/audience_group_id"), "must be a positive number"))?,
                _ => {
                    return Err(invalid(
                        at,
                        "exactly one of `user_ids` and `audience_group_id` is needed",
                    ))
                }
            };
        }
        Ok(campaign)
    }

    /// Reads a campaign file from disk; [`ErrorKind::Io`] when it cannot be read.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::with_source(
                ErrorKind::Io {
                    path: path.display().to_string(),
                },
                e,
            )
        })?;
        Self::from_json(&bytes)
    }
}
