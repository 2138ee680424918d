//! Dry runs: the same messages, validated by LINE instead of sent.

use super::{Client, Response};
use crate::model::{
    BroadcastRequest, Message, MulticastRequest, NarrowcastRequest, PushMessageRequest, ReplyMessageRequest,
    ValidateMessageRequest,
};
use crate::Error;

/// Validates send requests through LINE's `/v2/bot/message/validate/*`
/// endpoints. Nothing is delivered and no quota is used. Made by
/// [`Client::dry_run`].
#[derive(Debug, Clone, Copy)]
pub struct DryRun<'a> {
    client: &'a Client,
}

fn messages(m: &[Message]) -> ValidateMessageRequest {
    ValidateMessageRequest::new(m.to_vec())
}

impl<'a> DryRun<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Validates the messages of a reply.
    pub async fn reply(&self, req: &ReplyMessageRequest) -> Result<Response<()>, Error> {
        self.client.validate_reply(messages(&req.messages)).await
    }

    /// Validates the messages of a push.
    pub async fn push(&self, req: &PushMessageRequest) -> Result<Response<()>, Error> {
        self.client.validate_push(messages(&req.messages)).await
    }

    /// Validates the messages of a multicast.
    pub async fn multicast(&self, req: &MulticastRequest) -> Result<Response<()>, Error> {
        self.client.validate_multicast(messages(&req.messages)).await
    }

    /// Validates the messages of a narrowcast.
    pub async fn narrowcast(&self, req: &NarrowcastRequest) -> Result<Response<()>, Error> {
        self.client.validate_narrowcast(messages(&req.messages)).await
    }

    /// Validates the messages of a broadcast.
    pub async fn broadcast(&self, req: &BroadcastRequest) -> Result<Response<()>, Error> {
        self.client.validate_broadcast(messages(&req.messages)).await
    }
}
