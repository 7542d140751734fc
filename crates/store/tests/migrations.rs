//! Databases migrated by earlier releases open with this one. Earlier releases listed the
//! migrations by hand (version, description, text) and ran them with sqlx's migrator; the store
//! now embeds them with `sqlx::migrate!`, which takes the version and description from the
//! file name. sqlx refuses to open a database whose recorded checksum of an applied migration
//! differs from the embedded one, so these tests pin what the field databases recorded.

mod common;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr as _;

use common::{Backend, Env};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::Connection as _;

/// The SHA-384 of each migration's text as the earlier releases recorded it in
/// `_sqlx_migrations.checksum`. A migration that has run in the field never changes: add a new
/// one instead.
const SQLITE_CHECKSUMS: [(i64, &str, &str); 6] = [
    (1, "vault", "2357b245993b7ec6d6440330b845115164e5196b3b2364112306b81af65c37d444407853b817c45c1d347a1d89c25544"),
    (2, "events", "1a22f265122550fde8d09185249ed10f4cf0ed15ac601afce2164dc5a65c254e4a6f4e399993fda09737bd50b53d2fcb"),
    (3, "mirror", "7899fcbf8f6d72d2f558c8ffbb0ad9322529191f58f9a4b18605979aa7d425dd6d74c9c8287f16bc8c0cffa21d864cbf"),
    (4, "drivechat", "bd614396fe1e2ec7382beb66b5f6d3dded30bd69dede6c708f38e978507646fe276b3901b87e488bc66684261118f7c3"),
    (5, "location context", "efa144240bc5bbf0c0379e5b8a025980d30bcbfe3fa2b3c7a033e3da11861c9c508c0d703e3e3dec2423479bde7d5ee9"),
    (6, "refusals and task poll", "b3ceb4770d4cff49e8564136759c38e8b1a0d9de707509d250b736db4bb1c13dd351b6d23e5bce17a9aac3d7a5011e58"),
];
const POSTGRES_CHECKSUMS: [(i64, &str, &str); 6] = [
    (1, "vault", "7811aa00b64f112c0210adce3ee7ffcd9b7155f1e1ee5789727e1ef7d8d6784b2cf1293b89747e715484b39801738f32"),
    (2, "events", "4bfed29eed746638b0bfb4123671cf9e54f91e64d3fe1dcbc07d99d317c96c7bed580ddd6dec6d79090541e87dd79572"),
    (3, "mirror", "69fd54b792567676c3913217bcdb35c8e21cb8ff140905e0237932dc5593f642bdf3503523ed6bd27f1b97be21212630"),
    (4, "drivechat", "2c73df3fac7b83ad2370b5e95e76dc878ea0138ab4881ac1668aa9601092c5081d5351185124368b124a4d6c17de5090"),
    (5, "location context", "6422b056142539fb660186f00e2b4e27f6b80fd2356aa0f35f5c11826a1c8bea6ecc1bb08433394a486dbca2694e7152"),
    (6, "refusals and task poll", "9a42e64906b94a57347557d766fd835849eb8911d987572b5ab000a5df2bd34c22e0d7cdb312a0c0dbbe75320199506b"),
];

/// The earlier releases' hand-written list, as they embedded it.
const SQLITE_FILES: [&str; 6] = [
    include_str!("../migrations/sqlite/0001_vault.sql"),
    include_str!("../migrations/sqlite/0002_events.sql"),
    include_str!("../migrations/sqlite/0003_mirror.sql"),
    include_str!("../migrations/sqlite/0004_drivechat.sql"),
    include_str!("../migrations/sqlite/0005_location_context.sql"),
    include_str!("../migrations/sqlite/0006_refusals_and_task_poll.sql"),
];
const POSTGRES_FILES: [&str; 6] = [
    include_str!("../migrations/postgres/0001_vault.sql"),
    include_str!("../migrations/postgres/0002_events.sql"),
    include_str!("../migrations/postgres/0003_mirror.sql"),
    include_str!("../migrations/postgres/0004_drivechat.sql"),
    include_str!("../migrations/postgres/0005_location_context.sql"),
    include_str!("../migrations/postgres/0006_refusals_and_task_poll.sql"),
];

/// The migration source of the earlier releases: (version, description, text), in order.
#[derive(Debug)]
struct HandList(Vec<(i64, &'static str, &'static str)>);

impl<'s> MigrationSource<'s> for HandList {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .into_iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

fn expected(backend: Backend) -> &'static [(i64, &'static str, &'static str); 6] {
    match backend {
        Backend::Sqlite => &SQLITE_CHECKSUMS,
        Backend::Postgres => &POSTGRES_CHECKSUMS,
    }
}

/// Migrates the test's database the way the earlier releases did.
async fn migrate_as_before(env: &Env) {
    let files = match env.backend {
        Backend::Sqlite => SQLITE_FILES,
        Backend::Postgres => POSTGRES_FILES,
    };
    let list = expected(env.backend)
        .iter()
        .zip(files)
        .map(|(&(version, description, _), sql)| (version, description, sql))
        .collect();
    let migrator = Migrator::new(HandList(list))
        .await
        .expect("the hand list resolves");
    // A pool, as the earlier releases used (sqlx's migrator on a lone connection trips the
    // compiler's Send checks inside a spawned test).
    match env.backend {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&env.url)
                .unwrap()
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            migrator.run(&pool).await.expect("old-style migration");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&env.url).await.unwrap();
            migrator.run(&pool).await.expect("old-style migration");
            pool.close().await;
        }
    }
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
struct Applied {
    version: i64,
    description: String,
    checksum: Vec<u8>,
    success: bool,
}

/// What `_sqlx_migrations` records of the pinned migrations, as (version, description,
/// checksum in hex). Later migrations must have succeeded; they have no field history to pin.
async fn applied(env: &Env) -> Vec<(i64, String, String)> {
    const SQL: &str =
        "SELECT version, description, checksum, success FROM _sqlx_migrations ORDER BY version";
    let rows: Vec<Applied> = match env.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&env.url).await.unwrap();
            let rows = sqlx::query_as(SQL).fetch_all(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            rows
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&env.url).await.unwrap();
            let rows = sqlx::query_as(SQL).fetch_all(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            rows
        }
    };
    rows.into_iter()
        .map(|r| {
            assert!(r.success, "migration {} succeeded", r.version);
            let hex = r.checksum.iter().map(|b| format!("{b:02x}")).collect();
            (r.version, r.description, hex)
        })
        .filter(|(version, _, _)| *version <= SQLITE_CHECKSUMS.len() as i64)
        .collect()
}

fn pinned(backend: Backend) -> Vec<(i64, String, String)> {
    expected(backend)
        .iter()
        .map(|&(v, d, c)| (v, d.to_string(), c.to_string()))
        .collect()
}

/// A database the earlier releases migrated opens, works, and keeps its migration records.
async fn database_migrated_by_earlier_releases_opens(env: Env) {
    migrate_as_before(&env).await;
    assert_eq!(applied(&env).await, pinned(env.backend));
    let store = env.store().await;
    store
        .save_location(&common::oauth_location("loc-old"))
        .await
        .expect("the store works on the old database");
    assert_eq!(store.locations().await.unwrap().len(), 1);
    store.close().await;
    // Opening again (what every later start does) is just as quiet.
    env.store().await.close().await;
    assert_eq!(applied(&env).await, pinned(env.backend));
}

/// A new database records exactly what the earlier releases recorded.
async fn new_database_records_the_pinned_checksums(env: Env) {
    env.store().await.close().await;
    assert_eq!(applied(&env).await, pinned(env.backend));
}

on_both_backends!(
    database_migrated_by_earlier_releases_opens,
    new_database_records_the_pinned_checksums,
);
