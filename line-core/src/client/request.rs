//! Lazy requests: one builder per operation, sent when it is awaited.
//!
//! Each [`Client`] method (one per operation of LINE's specs) takes the
//! operation's required inputs and returns a builder named after the
//! operation ([`PushMessage`], [`GetProfile`]…). Optional inputs, and header
//! parameters such as `X-Line-Retry-Key` and `X-Line-Delivery-Tag`, are
//! setters. Nothing happens until the builder is awaited (it implements
//! [`IntoFuture`](std::future::IntoFuture), with a `Send + 'static` future):
//!
//! ```no_run
//! # async fn run(client: line_core::client::Client, key: line_core::RetryKey) -> Result<(), line_core::Error> {
//! use line_core::model::TextMessage;
//!
//! let to = "U4af4980629...";
//! let msgs = vec![TextMessage::new("Hello").into()];
//! let sent = client.push(to).messages(msgs).retry_key(key).await?;
//! println!("request id {:?}", sent.request_id);
//! # Ok(()) }
//! ```
//!
//! [`try_into_request`](PushMessage::try_into_request) turns a builder into the
//! [`Request`] it would send (method, URL, headers, body bytes) without any
//! network, so request bodies can be tested without a mock server:
//!
//! ```
//! use line_core::client::{Client, HttpMethod};
//! use line_core::model::TextMessage;
//!
//! let client = Client::new("CHANNEL_ACCESS_TOKEN");
//! let req = client.push("U1").messages(vec![TextMessage::new("Hi").into()]).try_into_request()?;
//! assert_eq!(req.method(), HttpMethod::Post);
//! assert_eq!(req.url(), "https://api.line.me/v2/bot/message/push");
//! assert!(req.header("x-line-retry-key").is_some()); // made for this call
//! let body: serde_json::Value = serde_json::from_slice(req.body())?;
//! assert_eq!(body, serde_json::json!({"to": "U1", "messages": [{"type": "text", "text": "Hi"}]}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Request bodies are passed by reference or by value ([`BodyArg`]):
//! `client.push_message(&req)` and `client.push_message(req)` both work.
//!
//! The four send operations (push, multicast, narrowcast, broadcast) take an
//! `X-Line-Retry-Key`: without [`retry_key`](PushMessage::retry_key) the
//! request gets a fresh one, made once and reused on every retry of the call;
//! with it, the given key (a persisted key resumes a send after a crash).
//!
//! Two short aliases cover the most common sends: [`Client::push`] and
//! [`Client::reply`] take the recipient (or the reply token) and then
//! `.messages(…)`, and give the same builders as
//! [`Client::push_message`] and [`Client::reply_message`].

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::Serialize;

use super::{path_segment, AuthScheme, Client, HttpMethod, Operation, Raw, Response};
use crate::error::{Error, ErrorKind};
use crate::ids::RetryKey;
use crate::model::{Message, PushMessageRequest, ReplyMessageRequest};
use crate::secret::ChannelSecret;

pub use super::methods::*;

/// The future of an awaited request builder: `Send`, and free of borrows.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<Response<T>, Error>> + Send + 'static>>;

/// A request body given by value (`T`) or by reference (`&T`).
pub trait BodyArg<'a, T: Clone> {
    /// The body, borrowed or owned.
    fn into_body(self) -> Cow<'a, T>;
}

impl<'a, T: Clone> BodyArg<'a, T> for T {
    fn into_body(self) -> Cow<'a, T> {
        Cow::Owned(self)
    }
}

impl<'a, T: Clone> BodyArg<'a, T> for &'a T {
    fn into_body(self) -> Cow<'a, T> {
        Cow::Borrowed(self)
    }
}

/// How a [`Request`] authenticates.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RequestAuth {
    /// `Authorization: Bearer …` with the channel access token of the
    /// client's token source, fetched when the request is sent.
    Bearer,
    /// HTTP basic authentication with a channel ID and secret.
    Basic {
        /// The channel ID.
        client_id: String,
        /// The channel secret (its `Debug` prints `<redacted>`).
        client_secret: ChannelSecret,
    },
    /// None (the token endpoints take their credentials in the body).
    None,
}

/// Query parameters whose values are credentials: `Debug` hides them.
const SECRET_PARAMS: &[&str] = &["access_token", "client_assertion", "client_secret"];

/// A request as it will be sent, made by a builder's `try_into_request()`
/// without any network: method, URL, headers and body.
///
/// The bearer token is not among the headers: it comes from the client's
/// token source when the request is sent ([`RequestAuth::Bearer`]). `Debug`
/// prints neither the body (form bodies carry secrets) nor credential query
/// values.
#[derive(Clone)]
pub struct Request {
    pub(crate) operation: &'static Operation,
    pub(crate) url: String,
    path: String,
    query: Vec<(&'static str, String)>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
    pub(crate) retry_key: Option<RetryKey>,
    pub(crate) auth: RequestAuth,
}

impl Request {
    /// The operation (the registry entry in [`operations`](super::operations)).
    pub fn operation(&self) -> &'static Operation {
        self.operation
    }

    /// The HTTP method.
    pub fn method(&self) -> HttpMethod {
        self.operation.method
    }

    /// The full URL: the client's base URL of the operation's host, the path,
    /// and the query string.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The path, with its parameters filled in and percent-encoded.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters, in order (not encoded).
    pub fn query(&self) -> &[(&'static str, String)] {
        &self.query
    }

    /// The headers besides authentication: `content-type` when there is a
    /// body, `X-Line-Retry-Key`, and the operation's own header parameters.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body (empty when the operation takes none).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The retry key: the given one, or the one made for this request (send
    /// operations only).
    pub fn retry_key(&self) -> Option<RetryKey> {
        self.retry_key
    }

    /// How the request authenticates.
    pub fn auth(&self) -> &RequestAuth {
        &self.auth
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(n, v)| {
                (
                    *n,
                    if SECRET_PARAMS.contains(n) {
                        "<redacted>"
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("Request")
            .field("operation", &self.operation.id)
            .field("method", &self.operation.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("headers", &self.headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("auth", &self.auth)
            .finish()
    }
}

/// Sends a built request (or fails with the error that stopped it being built).
pub(crate) fn send<T: Send + 'static>(
    client: &Client,
    request: Result<Request, Error>,
    finish: fn(Raw) -> Result<Response<T>, Error>,
) -> ResponseFuture<T> {
    let client = client.clone();
    Box::pin(async move {
        let out: Result<Response<T>, Error> = match request {
            Ok(request) => match client.execute(request).await {
                Ok(raw) => finish(raw),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        out
    })
}

/// One request under construction, filled in by a builder's inputs.
pub(crate) struct Call {
    op: &'static Operation,
    path: String,
    query: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
    body: Option<(Bytes, String)>,
    raw: Option<Bytes>,
    content_type: Option<String>,
    retry_key: Option<RetryKey>,
    basic_id: Option<String>,
    basic_secret: Option<ChannelSecret>,
    multipart: Option<Multipart>,
    error: Option<Error>,
}

struct Multipart {
    boundary: String,
    buf: Vec<u8>,
}

/// Content type of the files of multipart uploads (user ID lists).
const FILE_CONTENT_TYPE: &str = "text/plain";

impl Call {
    pub(crate) fn new(op: &'static Operation) -> Self {
        Self {
            op,
            path: op.path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            raw: None,
            content_type: None,
            retry_key: None,
            basic_id: None,
            basic_secret: None,
            multipart: None,
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// Fills the path parameter `{name}`; an empty value would address
    /// another resource, so it is an error.
    pub(crate) fn path_param(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.fail(Error::invalid_input(name, "must not be empty"));
            return;
        }
        self.path = self.path.replace(&format!("{{{name}}}"), &path_segment(value));
    }

    pub(crate) fn query(&mut self, name: &'static str, value: &str) {
        self.query.push((name, value.to_owned()));
    }

    pub(crate) fn header(&mut self, name: &'static str, value: &str) {
        self.headers.push((name, value.to_owned()));
    }

    pub(crate) fn retry_key(&mut self, key: RetryKey) {
        self.retry_key = Some(key);
    }

    pub(crate) fn json<T: Serialize + ?Sized>(&mut self, body: &T) {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some((bytes.into(), "application/json".to_owned())),
            Err(e) => self.fail(Error::with_source(
                ErrorKind::InvalidInput {
                    field: "body".into(),
                    reason: e.to_string(),
                },
                e,
            )),
        }
    }

    pub(crate) fn form<T: Serialize + ?Sized>(&mut self, body: &T) {
        match serde_urlencoded::to_string(body) {
            Ok(s) => self.body = Some((s.into(), "application/x-www-form-urlencoded".to_owned())),
            Err(e) => self.fail(Error::with_source(
                ErrorKind::InvalidInput {
                    field: "body".into(),
                    reason: e.to_string(),
                },
                e,
            )),
        }
    }

    pub(crate) fn raw_body(&mut self, bytes: Bytes) {
        self.raw = Some(bytes);
    }

    pub(crate) fn content_type(&mut self, content_type: &str) {
        if content_type.is_empty() {
            self.fail(Error::invalid_input("content_type", "must not be empty"));
        }
        self.content_type = Some(content_type.to_owned());
    }

    fn multipart(&mut self) -> &mut Multipart {
        self.multipart.get_or_insert_with(|| Multipart {
            boundary: format!("line-rs-{}", uuid::Uuid::new_v4().simple()),
            buf: Vec::new(),
        })
    }

    /// A text part of a multipart body.
    pub(crate) fn part(&mut self, name: &str, value: &str) {
        let mp = self.multipart();
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n",
            mp.boundary
        );
        mp.buf.extend_from_slice(head.as_bytes());
        mp.buf.extend_from_slice(value.as_bytes());
        mp.buf.extend_from_slice(b"\r\n");
    }

    /// A file part of a multipart body.
    pub(crate) fn file(&mut self, name: &str, data: Bytes) {
        let mp = self.multipart();
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.txt\"\r\nContent-Type: {FILE_CONTENT_TYPE}\r\n\r\n",
            mp.boundary
        );
        mp.buf.extend_from_slice(head.as_bytes());
        mp.buf.extend_from_slice(&data);
        mp.buf.extend_from_slice(b"\r\n");
    }

    pub(crate) fn basic_id(&mut self, client_id: &str) {
        self.basic_id = Some(client_id.to_owned());
    }

    pub(crate) fn basic_secret(&mut self, secret: &ChannelSecret) {
        self.basic_secret = Some(secret.clone());
    }

    /// The finished request, against `client`'s base URLs. A send operation
    /// without a given retry key gets a fresh one here.
    pub(crate) fn finish(mut self, client: &Client) -> Result<Request, Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let op = self.op;
        if self.path.contains('{') {
            // The generated builders fill every parameter; this guards the generator.
            return Err(Error::invalid_input(
                op.id,
                format!("unfilled path parameter in {}", self.path),
            ));
        }
        let mut body = self.body.take();
        if let Some(bytes) = self.raw.take() {
            body = Some((bytes, self.content_type.take().unwrap_or_default()));
        }
        if let Some(mp) = self.multipart.take() {
            let mut bytes = mp.buf;
            bytes.extend_from_slice(format!("--{}--\r\n", mp.boundary).as_bytes());
            body = Some((bytes.into(), format!("multipart/form-data; boundary={}", mp.boundary)));
        }
        let mut headers = Vec::with_capacity(self.headers.len() + 2);
        let body = match body {
            Some((bytes, content_type)) => {
                headers.push(("content-type", content_type));
                bytes
            }
            None => Bytes::new(),
        };
        if op.retry_key && self.retry_key.is_none() {
            self.retry_key = Some(RetryKey::new());
        }
        if let Some(key) = self.retry_key {
            headers.push(("X-Line-Retry-Key", key.to_string()));
        }
        headers.extend(self.headers);
        let auth = match op.auth {
            AuthScheme::Bearer => RequestAuth::Bearer,
            AuthScheme::None => RequestAuth::None,
            AuthScheme::Basic => match (self.basic_id, self.basic_secret) {
                (Some(client_id), Some(client_secret)) => RequestAuth::Basic {
                    client_id,
                    client_secret,
                },
                _ => {
                    return Err(Error::invalid_input(
                        op.id,
                        "basic authentication needs a client ID and secret",
                    ))
                }
            },
        };
        let mut url = format!("{}{}", client.base(op.host), self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&serde_urlencoded::to_string(&self.query).unwrap_or_default());
        }
        Ok(Request {
            operation: op,
            url,
            path: self.path,
            query: self.query,
            headers,
            body,
            retry_key: self.retry_key,
            auth,
        })
    }
}

/// Declares one operation: its [`Client`] method (required inputs as
/// arguments), its builder (optional inputs as setters), `try_into_request`
/// and `IntoFuture`. The generator writes one invocation per operation:
///
/// ```text
/// operation! {
///     /// docs of the method
///     fn get_followers() -> json(GetFollowersResponse) as GetFollowers = GET_FOLLOWERS {
///         /// docs of the setter
///         query start: str = "start",
///         query limit: num(i32) = "limit",
///     }
/// }
/// ```
///
/// An input is `PLACE name: FORM = "wire name"`. Places: `path`, `query`,
/// `header`, `retry_key`, `json`, `form`, `raw` (binary body),
/// `content_type`, `part` and `file` (multipart), `basic_id` and
/// `basic_secret`. Forms, with what the builder stores: `str` (`&str`),
/// `num(T)` (a number or boolean), `choice(T)` (an open string enum), `list(T)`
/// (`&[T]`), `body(T)` (borrowed or owned), `bytes`, `secret`
/// (`&ChannelSecret`), `key` (`RetryKey`).
macro_rules! operation {
    (
        $(#[$m:meta])*
        fn $method:ident($($ap:ident $a:ident: $af:ident $(($at:ty))? $(= $aw:literal)?),* $(,)?)
            -> $resp:ident $(($rt:ty))? as $name:ident = $op:ident
        {
            $($(#[$sm:meta])* $sp:ident $s:ident: $sf:ident $(($st:ty))? $(= $sw:literal)?),* $(,)?
        }
    ) => {
        impl $crate::client::Client {
            $(#[$m])*
            #[allow(clippy::too_many_arguments)]
            pub fn $method<'a>(&'a self $(, $a: $crate::client::request::operation!(@arg $af $($at)?))*) -> $name<'a> {
                $name {
                    client: self,
                    $($a: $crate::client::request::operation!(@conv $af $a),)*
                    $($s: None,)*
                }
            }
        }

        #[doc = concat!(
            "The request of [`Client::", stringify!($method), "`](crate::client::Client::",
            stringify!($method), "): `.await` sends it, [`try_into_request`](Self::try_into_request) ",
            "builds it without sending."
        )]
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until it is awaited"]
        pub struct $name<'a> {
            client: &'a $crate::client::Client,
            $($a: $crate::client::request::operation!(@stored $af $($at)?),)*
            $($s: Option<$crate::client::request::operation!(@stored $sf $($st)?)>,)*
        }

        impl<'a> $name<'a> {
            $(
                $(#[$sm])*
                pub fn $s(mut self, $s: $crate::client::request::operation!(@arg $sf $($st)?)) -> Self {
                    self.$s = Some($crate::client::request::operation!(@conv $sf $s));
                    self
                }
            )*

            /// The request this builder sends (method, URL, headers, body),
            /// made without any network. Fails on input that cannot be sent
            /// (an empty path parameter, a body that does not serialize).
            pub fn try_into_request(self) -> Result<$crate::client::request::Request, $crate::Error> {
                #[allow(unused_mut)]
                let mut call = $crate::client::request::Call::new(&$crate::client::operations::$op);
                $($crate::client::request::operation!(@apply call $ap $af [$($aw)?] self.$a);)*
                $(
                    if let Some(v) = self.$s {
                        $crate::client::request::operation!(@apply call $sp $sf [$($sw)?] v);
                    }
                )*
                call.finish(self.client)
            }
        }

        impl<'a> ::std::future::IntoFuture for $name<'a> {
            type Output = Result<
                $crate::client::Response<$crate::client::request::operation!(@resp $resp $($rt)?)>,
                $crate::Error,
            >;
            type IntoFuture =
                $crate::client::request::ResponseFuture<$crate::client::request::operation!(@resp $resp $($rt)?)>;

            fn into_future(self) -> Self::IntoFuture {
                let client = self.client;
                $crate::client::request::send(client, self.try_into_request(), $crate::client::Raw::$resp)
            }
        }
    };

    (@stored str) => { &'a str };
    (@stored num $t:ty) => { $t };
    (@stored choice $t:ty) => { $t };
    (@stored list $t:ty) => { &'a [$t] };
    (@stored body $t:ty) => { ::std::borrow::Cow<'a, $t> };
    (@stored bytes) => { ::bytes::Bytes };
    (@stored secret) => { &'a $crate::secret::ChannelSecret };
    (@stored key) => { $crate::ids::RetryKey };

    (@arg str) => { &'a (impl AsRef<str> + ?Sized) };
    (@arg body $t:ty) => { impl $crate::client::request::BodyArg<'a, $t> };
    (@arg bytes) => { impl Into<::bytes::Bytes> };
    (@arg $f:ident $($t:ty)?) => { $crate::client::request::operation!(@stored $f $($t)?) };

    (@conv str $v:ident) => { $v.as_ref() };
    (@conv body $v:ident) => { $crate::client::request::BodyArg::into_body($v) };
    (@conv bytes $v:ident) => { $v.into() };
    (@conv $f:ident $v:ident) => { $v };

    (@text str $v:expr) => { $v };
    (@text num $v:expr) => { &*$v.to_string() };
    (@text choice $v:expr) => { $crate::model::wire::StrEnum::as_wire_str(&$v) };

    (@apply $c:ident path $f:ident [$w:literal] $v:expr) => {
        $c.path_param($w, $crate::client::request::operation!(@text $f $v))
    };
    (@apply $c:ident query list [$w:literal] $v:expr) => {
        for x in $v {
            $c.query($w, $crate::model::wire::StrEnum::as_wire_str(x));
        }
    };
    (@apply $c:ident query $f:ident [$w:literal] $v:expr) => {
        $c.query($w, $crate::client::request::operation!(@text $f $v))
    };
    (@apply $c:ident header $f:ident [$w:literal] $v:expr) => {
        $c.header($w, $crate::client::request::operation!(@text $f $v))
    };
    (@apply $c:ident part $f:ident [$w:literal] $v:expr) => {
        $c.part($w, $crate::client::request::operation!(@text $f $v))
    };
    (@apply $c:ident file bytes [$w:literal] $v:expr) => { $c.file($w, $v) };
    (@apply $c:ident retry_key key [] $v:expr) => { $c.retry_key($v) };
    (@apply $c:ident json body [] $v:expr) => { $c.json(&*$v) };
    (@apply $c:ident form body [] $v:expr) => { $c.form(&*$v) };
    (@apply $c:ident raw bytes [] $v:expr) => { $c.raw_body($v) };
    (@apply $c:ident content_type str [] $v:expr) => { $c.content_type($v) };
    (@apply $c:ident basic_id str [] $v:expr) => { $c.basic_id($v) };
    (@apply $c:ident basic_secret secret [] $v:expr) => { $c.basic_secret($v) };

    (@resp json $t:ty) => { $t };
    (@resp sent $t:ty) => { $crate::client::Sent<$t> };
    (@resp empty) => { () };
    (@resp blob) => { $crate::client::Blob };
}

pub(crate) use operation;

/// The first step of [`Client::push`]: give the messages next.
#[derive(Debug, Clone)]
#[must_use = "a push does nothing until its messages are given and it is awaited"]
pub struct Push<'a> {
    client: &'a Client,
    to: String,
}

impl<'a> Push<'a> {
    /// The messages (1 to 5), which make the [`PushMessage`] request.
    pub fn messages(self, messages: impl Into<Vec<Message>>) -> PushMessage<'a> {
        self.client
            .push_message(PushMessageRequest::new(self.to, messages.into()))
    }
}

/// The first step of [`Client::reply`]: give the messages next.
#[derive(Debug, Clone)]
#[must_use = "a reply does nothing until its messages are given and it is awaited"]
pub struct Reply<'a> {
    client: &'a Client,
    reply_token: String,
}

impl<'a> Reply<'a> {
    /// The messages (1 to 5), which make the [`ReplyMessage`] request.
    pub fn messages(self, messages: impl Into<Vec<Message>>) -> ReplyMessage<'a> {
        self.client
            .reply_message(ReplyMessageRequest::new(self.reply_token, messages.into()))
    }
}

impl Client {
    /// Pushes messages to a user, group or room: a short form of
    /// [`push_message`](Self::push_message) for the common case.
    /// `client.push(to).messages(msgs)` is `client.push_message(PushMessageRequest::new(to, msgs))`;
    /// set `notificationDisabled` or aggregation units on a
    /// [`PushMessageRequest`] and use `push_message` for those.
    ///
    /// ```no_run
    /// # async fn run(client: line_core::client::Client, user: line_core::UserId) -> Result<(), line_core::Error> {
    /// use line_core::model::TextMessage;
    /// client.push(&user).messages(vec![TextMessage::new("Your order shipped").into()]).await?;
    /// # Ok(()) }
    /// ```
    pub fn push(&self, to: impl AsRef<str>) -> Push<'_> {
        Push {
            client: self,
            to: to.as_ref().to_owned(),
        }
    }

    /// Replies with messages to an event's reply token: a short form of
    /// [`reply_message`](Self::reply_message).
    /// `client.reply(token).messages(msgs)` is `client.reply_message(ReplyMessageRequest::new(token, msgs))`.
    pub fn reply(&self, reply_token: impl AsRef<str>) -> Reply<'_> {
        Reply {
            client: self,
            reply_token: reply_token.as_ref().to_owned(),
        }
    }
}
