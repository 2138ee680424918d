//! `try_into_request()`: what each kind of operation sends, checked without
//! any network (JSON, form and multipart bodies, binary uploads and
//! downloads, path and query parameters, retry keys and other headers), plus
//! the retry key on the wire: automatic or given, the same on every retry.

mod common;

use std::future::IntoFuture;
use std::time::Duration;

use line_core::client::request::{PushMessage, ResponseFuture};
use line_core::client::{Client, Host, HttpMethod, RequestAuth, Sent};
use line_core::model::{
    AttachModuleRequest, AudienceGroupStatus, ListCouponStatus, PnpMessagesRequest, PushMessageRequest,
    PushMessageResponse, TextMessage,
};
use line_core::retry::RetryPolicy;
use line_core::{ChannelSecret, ErrorKind, RetryKey, UserId};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn client() -> Client {
    Client::builder()
        .token(common::TOKEN)
        .api_base("http://api.test")
        .data_base("http://data.test")
        .build()
        .unwrap()
}

fn body_json(req: &line_core::client::Request) -> Value {
    serde_json::from_slice(req.body()).expect("a JSON body")
}

#[test]
fn a_push_has_a_json_body_a_fresh_retry_key_and_bearer_auth() {
    let client = client();
    let to = UserId::new("U1");
    let req = client
        .push(&to)
        .messages(vec![TextMessage::new("Hi").into()])
        .try_into_request()
        .unwrap();
    assert_eq!(req.method(), HttpMethod::Post);
    assert_eq!(req.operation().id, "pushMessage");
    assert_eq!(req.url(), "http://api.test/v2/bot/message/push");
    assert_eq!(req.header("Content-Type"), Some("application/json"));
    assert_eq!(
        body_json(&req),
        json!({"to": "U1", "messages": [{"type": "text", "text": "Hi"}]})
    );
    assert_eq!(req.auth(), &RequestAuth::Bearer);
    let key = req.retry_key().expect("a send gets a retry key");
    assert_eq!(req.header("x-line-retry-key"), Some(key.to_string().as_str()));

    // Another request of the same send gets its own key.
    let again = client
        .push(&to)
        .messages(vec![TextMessage::new("Hi").into()])
        .try_into_request()
        .unwrap();
    assert_ne!(again.retry_key(), Some(key));
}

#[test]
fn a_given_retry_key_is_the_one_sent_and_the_model_form_sends_the_same_body() {
    let client = client();
    let key = RetryKey::new();
    let mut push = PushMessageRequest::new("U1", vec![TextMessage::new("Hi").into()]);
    push.notification_disabled = Some(true);
    let by_ref = client.push_message(&push).retry_key(key).try_into_request().unwrap();
    let by_value = client
        .push_message(push.clone())
        .retry_key(key)
        .try_into_request()
        .unwrap();
    assert_eq!(by_ref.retry_key(), Some(key));
    assert_eq!(by_ref.header("X-Line-Retry-Key"), Some(key.to_string().as_str()));
    assert_eq!(by_ref.body(), by_value.body());
    assert_eq!(body_json(&by_ref)["notificationDisabled"], true);
}

#[test]
fn an_operation_that_is_not_a_send_has_no_retry_key() {
    let req = client()
        .reply("tok")
        .messages(vec![TextMessage::new("Hi").into()])
        .try_into_request()
        .unwrap();
    assert_eq!(req.retry_key(), None);
    assert_eq!(req.header("X-Line-Retry-Key"), None);
    assert_eq!(req.url(), "http://api.test/v2/bot/message/reply");
}

#[test]
fn path_parameters_are_encoded_and_numbers_written() {
    let client = client();
    let req = client.get_profile("U1/../x y").try_into_request().unwrap();
    assert_eq!(req.method(), HttpMethod::Get);
    assert_eq!(req.path(), "/v2/bot/profile/U1%2F..%2Fx%20y");
    assert!(req.body().is_empty());
    assert_eq!(req.header("content-type"), None);

    let req = client
        .link_rich_menu_id_to_user("U1", "richmenu-9")
        .try_into_request()
        .unwrap();
    assert_eq!(req.path(), "/v2/bot/user/U1/richmenu/richmenu-9");

    let req = client.get_audience_data(42).try_into_request().unwrap();
    assert_eq!(req.path(), "/v2/bot/audienceGroup/42");
}

#[test]
fn an_empty_path_parameter_is_an_error_naming_it() {
    let err = client().get_profile("").try_into_request().unwrap_err();
    match err.kind() {
        ErrorKind::InvalidInput { field, .. } => assert_eq!(field, "userId"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn query_parameters_required_optional_enum_and_repeated() {
    let client = client();
    let req = client
        .get_audience_groups(2)
        .status(AudienceGroupStatus::Ready)
        .size(40)
        .try_into_request()
        .unwrap();
    assert_eq!(
        req.url(),
        "http://api.test/v2/bot/audienceGroup/list?page=2&status=READY&size=40"
    );
    assert_eq!(
        req.query(),
        &[
            ("page", "2".to_owned()),
            ("status", "READY".to_owned()),
            ("size", "40".to_owned())
        ]
    );

    let req = client
        .list_coupon()
        .status(&[ListCouponStatus::Running, ListCouponStatus::Closed])
        .limit(50)
        .try_into_request()
        .unwrap();
    assert_eq!(
        req.url(),
        "http://api.test/v2/bot/coupon?status=RUNNING&status=CLOSED&limit=50"
    );

    // Not given, not sent.
    let req = client.get_followers().try_into_request().unwrap();
    assert_eq!(req.url(), "http://api.test/v2/bot/followers/ids");
}

#[test]
fn a_binary_upload_and_a_download_go_to_the_data_host() {
    let client = client();
    let png = b"\x89PNG\r\n\x1a\n".to_vec();
    let req = client
        .set_rich_menu_image("richmenu-1", png.clone(), "image/png")
        .try_into_request()
        .unwrap();
    assert_eq!(req.operation().host, Host::ApiData);
    assert_eq!(req.url(), "http://data.test/v2/bot/richmenu/richmenu-1/content");
    assert_eq!(req.method(), HttpMethod::Post);
    assert_eq!(req.header("content-type"), Some("image/png"));
    assert_eq!(req.body(), png.as_slice());

    let err = client
        .set_rich_menu_image("richmenu-1", png, "")
        .try_into_request()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { field, .. } if field == "content_type"));

    let req = client.get_message_content("m1").try_into_request().unwrap();
    assert_eq!(req.url(), "http://data.test/v2/bot/message/m1/content");
    assert_eq!(req.method(), HttpMethod::Get);
    assert!(req.body().is_empty());
}

#[test]
fn a_multipart_upload_has_its_parts_and_file() {
    let req = client()
        .create_audience_for_uploading_user_ids(&b"U1\nU2\n"[..])
        .description("vip")
        .is_ifa_audience(false)
        .try_into_request()
        .unwrap();
    let content_type = req.header("content-type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("a multipart content type");
    let body = std::str::from_utf8(req.body()).unwrap();
    // Required inputs first, then the optional ones that were set.
    let expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nU1\nU2\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nvip\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"isIfaAudience\"\r\n\r\nfalse\r\n\
         --{boundary}--\r\n"
    );
    assert_eq!(body, expected);
}

#[test]
fn the_delivery_tag_is_a_named_header() {
    let req = PnpMessagesRequest::new(vec![TextMessage::new("Parcel ships today").into()], "819012345678");
    let req = client()
        .push_messages_by_phone(&req)
        .delivery_tag("order-0001")
        .try_into_request()
        .unwrap();
    assert_eq!(req.url(), "http://api.test/bot/pnp/push");
    assert_eq!(req.header("x-line-delivery-tag"), Some("order-0001"));
    assert_eq!(req.retry_key(), None);
}

#[test]
fn a_form_body_with_basic_auth_keeps_the_secret_out_of_debug() {
    let body: AttachModuleRequest = serde_json::from_value(
        json!({"grant_type": "authorization_code", "code": "c1", "redirect_uri": "https://x.test/cb"}),
    )
    .unwrap();
    let secret = ChannelSecret::new("module-secret-77");
    let req = Client::new("t")
        .attach_module(&body, "1234", &secret)
        .try_into_request()
        .unwrap();
    assert_eq!(req.url(), "https://manager.line.biz/module/auth/v1/token");
    assert_eq!(req.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        std::str::from_utf8(req.body()).unwrap(),
        "grant_type=authorization_code&code=c1&redirect_uri=https%3A%2F%2Fx.test%2Fcb"
    );
    match req.auth() {
        RequestAuth::Basic {
            client_id,
            client_secret,
        } => {
            assert_eq!(client_id, "1234");
            assert_eq!(client_secret.expose(), "module-secret-77");
        }
        other => panic!("{other:?}"),
    }
    let debug = format!("{req:?}");
    assert!(!debug.contains("module-secret-77"), "{debug}");
}

#[test]
fn debug_hides_the_token_credential_queries_and_bodies() {
    let client = client();
    let req = client
        .verify_channel_token_by_jwt("eyJ-secret-token")
        .try_into_request()
        .unwrap();
    assert!(req.url().contains("access_token=eyJ-secret-token"));
    let debug = format!("{req:?}");
    assert!(!debug.contains("eyJ-secret-token"), "{debug}");
    let builder = client.push("U1").messages(vec![TextMessage::new("Hi").into()]);
    let debug = format!("{builder:?}");
    assert!(!debug.contains(common::TOKEN), "{debug}");
    let debug = format!("{:?}", builder.try_into_request().unwrap());
    assert!(!debug.contains(common::TOKEN), "{debug}");
}

#[test]
fn awaiting_gives_a_send_and_static_future() {
    fn assert_send_static<F: std::future::Future + Send + 'static>(_: &F) {}
    let client = client();
    let builder: PushMessage<'_> = client.push("U1").messages(vec![TextMessage::new("Hi").into()]);
    let fut: ResponseFuture<Sent<PushMessageResponse>> = builder.into_future();
    assert_send_static(&fut);
    drop(client); // the future does not borrow the client
    drop(fut);
}

fn keys_of(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.headers
                .get("x-line-retry-key")
                .expect("every push attempt carries a retry key")
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_automatic_key_and_a_given_key_are_each_reused_on_every_retry() {
    let (server, _) = common::setup().await;
    let client = common::client_for(
        &server,
        RetryPolicy::default().with_base_delay(Duration::from_millis(5)),
    );
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sentMessages": []})))
        .mount(&server)
        .await;
    // Before each send: two 503s first (priority 1 wins over the default 5).
    let two_503s = || {
        Mock::given(method("POST"))
            .and(path("/v2/bot/message/push"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .with_priority(1)
    };
    two_503s().mount(&server).await;
    let msgs = || vec![TextMessage::new("Hi").into()];

    let auto = client.push("U1").messages(msgs()).await.unwrap();
    assert_eq!(auto.attempts, 3);
    let requests = server.received_requests().await.unwrap();
    let keys = keys_of(&requests);
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(auto.retry_key.unwrap().to_string(), keys[0]);

    two_503s().mount(&server).await;
    let given = RetryKey::new();
    let resp = client.push("U1").messages(msgs()).retry_key(given).await.unwrap();
    assert_eq!(resp.attempts, 3);
    assert_eq!(resp.retry_key, Some(given));
    let requests = server.received_requests().await.unwrap();
    let keys = keys_of(&requests[3..]);
    assert_eq!(keys, vec![given.to_string(); 3]);
}
