mod common;

#[tokio::test]
async fn sandbox_starts_and_answers_a_search() {
    let sb = common::start().await;
    let loc = sb.location_ids()[0].clone();
    let token = sb.pit(&loc, None).await;
    let (status, headers, body) = sb
        .call(
            reqwest::Method::POST,
            "/contacts/search",
            &token,
            Some(serde_json::json!({"locationId": loc, "pageLimit": 5})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contacts"].as_array().unwrap().len(), 5);
    assert_eq!(body["total"], 40);
    assert_eq!(headers["x-ratelimit-remaining"], "99");
}
