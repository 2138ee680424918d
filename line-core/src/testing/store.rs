//! Helpers for the tests of durable stores (features `testing` plus `sqlite`,
//! `postgres` or `redis`): fresh table prefixes, the test PostgreSQL and Redis servers,
//! and checks of atomic operations from several processes.
//!
//! Cross-process checks re-run the calling test in child processes: the test calls
//! [`child_index`] first, and when it is `Some` does the child's share of the work,
//! reports with [`report`], and returns; otherwise it starts the children with
//! [`run_children`] and checks what they reported.

use std::process::Stdio;

/// The environment variable that marks a child process, holding its index.
pub const CHILD_ENV: &str = "LINE_STORE_TEST_CHILD";

/// The PostgreSQL URL of the store tests: `LINE_STORES_PG_URL`, by default the database
/// that `line-segments/ci-setup.sh` creates.
pub fn pg_url() -> String {
    std::env::var("LINE_STORES_PG_URL")
        .unwrap_or_else(|_| "postgres://line:line@127.0.0.1:5432/line_segments".to_owned())
}

/// A fresh table prefix (`t_{tag}_{random}_`), so that tests sharing one database do not collide.
pub fn fresh_prefix(tag: &str) -> String {
    format!("t_{tag}_{:012x}_", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// A fresh path for a SQLite file in the temporary directory (the file does not exist).
pub fn fresh_sqlite_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("line-store-{tag}-{:016x}.sqlite", rand::random::<u64>()))
}

/// Removes a SQLite file and its WAL companions; missing files are fine.
pub fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// The environment variable that carries the children's common start time (Unix milliseconds).
const START_ENV: &str = "LINE_TEST_CHILD_START_MS";

/// The index of this process when it is a child started by [`run_children`].
///
/// The first call in a child waits for the start time its parent gave every child, so the
/// children's work overlaps even when one of them took longer to start.
pub fn child_index() -> Option<usize> {
    let index = std::env::var(CHILD_ENV).ok().and_then(|v| v.parse().ok())?;
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let start = std::env::var(START_ENV).ok().and_then(|v| v.parse::<u128>().ok());
        if let Some(start) = start {
            let now = unix_ms();
            if start > now {
                std::thread::sleep(std::time::Duration::from_millis((start - now) as u64));
            }
        }
    });
    Some(index)
}

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// Reports one value from a child to its parent (a line `CHILD-REPORT {value}` on stdout).
pub fn report(value: &str) {
    println!("CHILD-REPORT {value}");
}

/// Runs `n` copies of the test `test_name` of this test binary at once, as children
/// (with [`CHILD_ENV`] set to 0..n and `env` added), and gives the values each reported.
/// Panics when a child fails.
pub fn run_children(test_name: &str, n: usize, env: &[(&str, String)]) -> Vec<Vec<String>> {
    let exe = std::env::current_exe().expect("the test binary's path");
    // Every child starts its work at the same instant, late enough for all of them to be up.
    let start = (unix_ms() + 3_000).to_string();
    let children: Vec<_> = (0..n)
        .map(|i| {
            let mut cmd = std::process::Command::new(&exe);
            cmd.args([test_name, "--exact", "--nocapture", "--test-threads", "1"])
                .env(CHILD_ENV, i.to_string())
                .env(START_ENV, &start)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd.spawn().expect("a child test process starts")
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let out = child.wait_with_output().expect("a child test process runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "child {i} of {test_name} failed: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            let reports: Vec<String> = stdout
                .lines()
                // libtest's "test name ... " may start the line of the first report.
                .filter_map(|l| l.split_once("CHILD-REPORT ").map(|(_, v)| v.to_owned()))
                .collect();
            assert!(
                !reports.is_empty() || stdout.contains("1 passed"),
                "child {i} of {test_name} ran no test (is the name exact?):\n{stdout}"
            );
            reports
        })
        .collect()
}

/// Whether a missing server must fail the test: `CI` is set (to anything but `false` or empty).
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The test PostgreSQL pool, or `None` (with a notice) when no server answers and
/// [`required`] is false. Panics when the server is missing and required.
#[cfg(feature = "postgres")]
pub async fn pg_pool() -> Option<crate::store::postgres::PgPool> {
    let url = pg_url();
    let pool = crate::store::postgres::PgPool::connect(&url).expect("a valid test URL");
    let probe = async {
        let conn = pool.get().await?;
        conn.client().simple_query("SELECT 1").await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), probe).await {
        Ok(Ok(())) => Some(pool),
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if required() {
                panic!("PostgreSQL is required when CI is set (run `bash line-segments/ci-setup.sh`): {why}");
            }
            eprintln!("SKIPPED: no PostgreSQL at the test URL ({why}); run `bash line-segments/ci-setup.sh`");
            None
        }
    }
}

/// The Redis URL of the store tests: `LINE_STORES_REDIS_URL`, by default the server
/// that `line-popup/ci-setup.sh` starts.
pub fn redis_url() -> String {
    std::env::var("LINE_STORES_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The test Redis handle, or `None` (with a notice) when no server answers and
/// [`required`] is false. Panics when the server is missing and required.
#[cfg(feature = "redis")]
pub async fn redis_db() -> Option<crate::store::redis::RedisDb> {
    match crate::store::redis::RedisDb::connect_with_timeout(&redis_url(), std::time::Duration::from_secs(5)).await {
        Ok(db) => Some(db),
        Err(e) if required() => {
            panic!("Redis is required when CI is set (run `bash line-popup/ci-setup.sh`): {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no Redis at the test URL ({e}); run `bash line-popup/ci-setup.sh`");
            None
        }
    }
}

/// Runs `sql` (one or more statements, no parameters) on a connection of `pool`.
#[cfg(feature = "postgres")]
pub async fn pg_batch(pool: &crate::store::postgres::PgPool, sql: &str) {
    let conn = pool.get().await.expect("a connection");
    conn.client().batch_execute(sql).await.expect("run the statements");
}

/// How often the server has read `table` whole and through an index (`seq_scan` and
/// `idx_scan` of `pg_stat_user_tables`), once the server processes of `flush` have sent
/// their counters (a process sends them when it goes idle, at most once a second unless
/// asked): give it the pool whose reads are counted, sized to one connection. Needs
/// PostgreSQL 15 or later (`pg_stat_force_next_flush`).
#[cfg(feature = "postgres")]
pub async fn pg_table_scans(
    pool: &crate::store::postgres::PgPool,
    flush: &crate::store::postgres::PgPool,
    table: &str,
) -> (i64, i64) {
    pg_batch(flush, "SELECT pg_stat_force_next_flush()").await;
    let conn = pool.get().await.expect("a connection");
    let row = conn
        .client()
        .query_one(
            "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1",
            &[&table],
        )
        .await
        .expect("read the counters");
    (row.get(0), row.get(1))
}

/// Drops every table and function whose name starts with `prefix` (what one test made).
#[cfg(feature = "postgres")]
pub async fn pg_drop_prefix(pool: &crate::store::postgres::PgPool, prefix: &str) {
    crate::store::check_prefix(prefix).expect("a valid prefix");
    let conn = pool.get().await.expect("a connection");
    let c = conn.client();
    let rows = c
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1)",
            &[&prefix],
        )
        .await
        .expect("list tables");
    for row in rows {
        let name: String = row.get(0);
        c.batch_execute(&format!("DROP TABLE IF EXISTS {name} CASCADE"))
            .await
            .expect("drop a test table");
    }
    // Stores may also install functions (the popup store's reservation does).
    let rows = c
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = current_schema() AND starts_with(p.proname, $1)",
            &[&prefix],
        )
        .await
        .expect("list functions");
    for row in rows {
        let signature: String = row.get(0);
        c.batch_execute(&format!("DROP FUNCTION IF EXISTS {signature} CASCADE"))
            .await
            .expect("drop a test function");
    }
}
