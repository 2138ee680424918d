//! Audiences: multipart uploads to api-data.line.me, typed query parameters.

mod common;

use line_core::model::{AudienceGroupStatus, CreateAudienceGroupRequest};
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn upload_by_file_is_multipart_with_a_text_file() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/audienceGroup/upload/byFile"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "audienceGroupId": 4389303728991_i64, "createRoute": "MESSAGING_API", "type": "UPLOAD",
            "description": "vip", "created": 1613698278, "permission": "READ_WRITE",
            "expireTimestamp": 1629250278, "isIfaAudience": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .create_audience_for_uploading_user_ids(b"U1\nU2\n".to_vec())
        .description("vip")
        .upload_description("first upload")
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
    assert_eq!(resp.body.audience_group_id, Some(4389303728991));
    let req = &server.received_requests().await.unwrap()[0];
    let ct = req.headers.get("content-type").unwrap().to_str().unwrap().to_owned();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").expect(&ct);
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert!(
        body.contains("Content-Disposition: form-data; name=\"description\"\r\n\r\nvip\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"uploadDescription\"\r\n\r\nfirst upload\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"file\"; filename=\"file.txt\"\r\nContent-Type: text/plain\r\n\r\nU1\nU2\n\r\n"),
        "{body}"
    );
    assert!(!body.contains("isIfaAudience"), "an omitted optional part is not sent");
    assert!(body.ends_with(&format!("--{boundary}--\r\n")));
}

#[tokio::test]
async fn create_audience_by_ids_and_list_with_typed_query() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/audienceGroup/upload"))
        .and(body_json(
            json!({"description": "cosmetics fans", "audiences": [{"id": "U1"}]}),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"audienceGroupId": 1})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/audienceGroup/list"))
        .and(query_param("page", "2"))
        .and(query_param("status", "READY"))
        .and(query_param("size", "40"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audienceGroups": [], "hasNextPage": false, "totalCount": 0, "readWriteAudienceGroupTotalCount": 0,
            "page": 2, "size": 40
        })))
        .expect(1)
        .mount(&server)
        .await;
    let req: CreateAudienceGroupRequest =
        serde_json::from_value(json!({"description": "cosmetics fans", "audiences": [{"id": "U1"}]})).unwrap();
    client.create_audience_group(&req).await.unwrap();
    let list = client
        .get_audience_groups(2)
        .status(AudienceGroupStatus::Ready)
        .size(40)
        .await
        .unwrap()
        .body;
    assert_eq!(list.page, Some(2));
    let q = server.received_requests().await.unwrap()[1]
        .url
        .query()
        .unwrap()
        .to_owned();
    assert!(
        !q.contains("description"),
        "unset optional query parameters are omitted: {q}"
    );
}

#[tokio::test]
async fn integer_path_parameters() {
    let (server, client) = common::setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/bot/audienceGroup/4389303728991"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client.delete_audience_group(4389303728991).await.unwrap();
}
