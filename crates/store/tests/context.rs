//! A location's context (profile, HighLevel users, custom field definitions, missing scopes):
//! each part saved on its own and stamped, lists replaced whole and atomically, locations
//! kept apart, and a member's time zone setting, on both backends.

mod common;

use common::Env;
use store::{CustomFieldDef, HlUser, LocationContext, LocationProfile};

on_both_backends!(
    an_unread_location_has_an_empty_context,
    parts_are_saved_and_read_back,
    replacing_users_and_fields_drops_the_old_ones,
    a_refused_replacement_keeps_the_previous_list,
    locations_do_not_share_context,
    a_member_time_zone_round_trips,
);

fn user(id: &str, name: &str, email: Option<&str>) -> HlUser {
    HlUser {
        id: id.into(),
        name: name.into(),
        first_name: name.split(' ').next().map(Into::into),
        last_name: name.split(' ').nth(1).map(Into::into),
        email: email.map(Into::into),
    }
}

fn field(id: &str, name: &str, data_type: &str, options: &[&str]) -> CustomFieldDef {
    CustomFieldDef {
        id: id.into(),
        name: name.into(),
        field_key: Some(format!("contact.{}", name.to_lowercase().replace(' ', "_"))),
        data_type: data_type.into(),
        options: options.iter().map(|o| o.to_string()).collect(),
    }
}

async fn an_unread_location_has_an_empty_context(env: Env) {
    let store = env.store().await;
    assert_eq!(
        store.location_context("L1").await.unwrap(),
        LocationContext::default()
    );
}

async fn parts_are_saved_and_read_back(env: Env) {
    let store = env.store().await;
    let profile = LocationProfile {
        name: Some("Clinic".into()),
        timezone: Some("America/New_York".into()),
        address: None,
    };
    store.save_location_profile("L1", &profile).await.unwrap();
    let after_profile = store.location_context("L1").await.unwrap();
    assert_eq!(after_profile.profile.as_ref(), Some(&profile));
    assert!(after_profile.users.is_empty());
    let first_stamp = after_profile.refreshed_at_ms.expect("the save is stamped");

    // Users come back ordered by name whatever order they were given in.
    let users = vec![
        user("u2", "Zoe Young", Some("Zoe@Example.com")),
        user("u1", "ana Bell", None),
    ];
    store.replace_location_users("L1", &users).await.unwrap();
    let fields = vec![
        field("f9", "Birthday", "DATE", &[]),
        field("f1", "Colour", "SINGLE_OPTIONS", &["Red", "Blue"]),
    ];
    store
        .replace_custom_field_defs("L1", &fields)
        .await
        .unwrap();
    let scopes = vec!["users.readonly".to_string()];
    store
        .set_context_missing_scopes("L1", &scopes)
        .await
        .unwrap();

    let ctx = store.location_context("L1").await.unwrap();
    assert_eq!(ctx.profile, Some(profile), "later saves keep the profile");
    assert_eq!(ctx.users, vec![users[1].clone(), users[0].clone()]);
    assert_eq!(
        ctx.custom_fields, fields,
        "definitions keep the order saved"
    );
    assert_eq!(ctx.missing_scopes, scopes);
    assert!(ctx.refreshed_at_ms.unwrap() >= first_stamp);
    assert_eq!(ctx.user("u2").map(|u| u.name.as_str()), Some("Zoe Young"));
    assert_eq!(
        ctx.user_by_email(" zoe@EXAMPLE.com ")
            .map(|u| u.id.as_str()),
        Some("u2")
    );
    assert!(ctx.user_by_email("").is_none());
    assert_eq!(
        ctx.custom_field("f1").map(|d| d.options.clone()),
        Some(vec!["Red".to_string(), "Blue".to_string()])
    );

    // Clearing the missing scopes after a reconnect.
    store.set_context_missing_scopes("L1", &[]).await.unwrap();
    assert!(store
        .location_context("L1")
        .await
        .unwrap()
        .missing_scopes
        .is_empty());
}

async fn replacing_users_and_fields_drops_the_old_ones(env: Env) {
    let store = env.store().await;
    store
        .replace_location_users("L1", &[user("u1", "Ana", None), user("u2", "Ben", None)])
        .await
        .unwrap();
    store
        .replace_custom_field_defs("L1", &[field("f1", "A", "TEXT", &[])])
        .await
        .unwrap();
    store
        .replace_location_users("L1", &[user("u3", "Cy", None)])
        .await
        .unwrap();
    store.replace_custom_field_defs("L1", &[]).await.unwrap();
    let ctx = store.location_context("L1").await.unwrap();
    assert_eq!(ctx.users, vec![user("u3", "Cy", None)]);
    assert!(ctx.custom_fields.is_empty());
    assert!(ctx.profile.is_none(), "no profile was ever saved");
    assert!(ctx.refreshed_at_ms.is_some());
}

async fn a_refused_replacement_keeps_the_previous_list(env: Env) {
    let store = env.store().await;
    store
        .replace_location_users("L1", &[user("u1", "Ana", None)])
        .await
        .unwrap();
    let nameless = [user("", "Nobody", None)];
    let err = store
        .replace_location_users("L1", &nameless)
        .await
        .expect_err("a user without an id is refused");
    assert!(err.to_string().contains("without an id"), "{err}");
    let empty = [field("", "Nameless", "TEXT", &[])];
    let err = store
        .replace_custom_field_defs("L1", &empty)
        .await
        .expect_err("a definition without an id is refused");
    assert!(err.to_string().contains("without an id"), "{err}");
    assert_eq!(
        store.location_context("L1").await.unwrap().users,
        vec![user("u1", "Ana", None)],
        "a refused list leaves the previous one"
    );
    // The same id twice (not something HighLevel sends) keeps the last, not a failed refresh.
    let twice = [user("u2", "Ben", None), user("u2", "Ben Again", None)];
    store.replace_location_users("L1", &twice).await.unwrap();
    assert_eq!(
        store.location_context("L1").await.unwrap().users,
        vec![user("u2", "Ben Again", None)]
    );
}

async fn locations_do_not_share_context(env: Env) {
    let store = env.store().await;
    store
        .replace_location_users("L1", &[user("u1", "Ana", None)])
        .await
        .unwrap();
    store
        .replace_location_users("L2", &[user("u1", "Other Ana", None)])
        .await
        .unwrap();
    store
        .replace_location_users("L1", &[user("u9", "Nina", None)])
        .await
        .unwrap();
    assert_eq!(
        store.location_context("L2").await.unwrap().users,
        vec![user("u1", "Other Ana", None)]
    );
    assert_eq!(
        store.location_context("L1").await.unwrap().users,
        vec![user("u9", "Nina", None)]
    );
}

async fn a_member_time_zone_round_trips(env: Env) {
    let store = env.store().await;
    let id = store
        .create_chat_user("ana@example.com", "Ana", "hash")
        .await
        .unwrap()
        .expect("new user");
    assert_eq!(store.chat_user(id).await.unwrap().unwrap().timezone, None);
    assert!(store
        .set_chat_user_timezone(id, Some("Europe/Paris"))
        .await
        .unwrap());
    assert_eq!(
        store
            .chat_user_by_email("ana@example.com")
            .await
            .unwrap()
            .unwrap()
            .timezone
            .as_deref(),
        Some("Europe/Paris")
    );
    assert!(store.set_chat_user_timezone(id, None).await.unwrap());
    assert_eq!(store.chat_user(id).await.unwrap().unwrap().timezone, None);
    assert!(!store
        .set_chat_user_timezone(id + 1000, Some("UTC"))
        .await
        .unwrap());
}
