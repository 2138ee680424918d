//! `linectl emulator`: the first stdout line and the admin interface are a contract.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http(base: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    http_body(base, method, path, token, "")
}

fn http_body(base: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let len = body.len();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn start(args: &[&str]) -> (Killed, String) {
    let (child, base, _) = start_reading(args, 0);
    (child, base)
}

/// Starts the emulator and reads the first line and `more` lines after it.
fn start_reading(args: &[&str], more: usize) -> (Killed, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linectl"))
        .arg("emulator")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    let lines = (0..more)
        .map(|_| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line
        })
        .collect();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (Killed(child), base, lines)
}

#[test]
fn prints_the_listening_line_and_seeds_friends() {
    let (_child, base) = start(&["--port", "0", "--friends", "3"]);
    let (status, body) = http(&base, "GET", "/_emulator/users", None);
    assert_eq!(status, 200);
    let users: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body}"));
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 3);
    for u in users {
        assert!(u["userId"].as_str().unwrap().starts_with('U'));
        assert!(u["displayName"].is_string());
        assert_eq!(u["friend"], true);
        assert_eq!(u["blocked"], false);
    }
    // any bearer token is accepted without --token
    let (status, _) = http(&base, "GET", "/v2/bot/info", Some("whatever"));
    assert_eq!(status, 200);
}

#[test]
fn with_a_token_any_other_token_gets_401() {
    let (_child, base) = start(&["--port", "0", "--token", "right-token"]);
    assert_eq!(http(&base, "GET", "/v2/bot/info", Some("wrong-token")).0, 401);
    assert_eq!(http(&base, "GET", "/v2/bot/info", Some("right-token")).0, 200);
}

#[test]
fn channels_print_their_credentials_and_keep_their_own_state() {
    let (_child, base, lines) = start_reading(&["--port", "0", "--channels", "3", "--friends", "2"], 3);
    let channels: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l.trim()).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    for c in &channels {
        assert!(c["channelId"].as_str().unwrap().bytes().all(|b| b.is_ascii_digit()));
        let bot = c["botUserId"].as_str().unwrap();
        assert!(bot.starts_with('U') && bot.len() == 33, "{bot}");
        assert_eq!(c["channelSecret"].as_str().unwrap().len(), 32);
        assert!(!c["accessToken"].as_str().unwrap().is_empty());
    }
    let ids: std::collections::HashSet<&str> = channels.iter().map(|c| c["channelId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    // The admin interface lists the same channels.
    let (status, listed) = http(&base, "GET", "/_emulator/channels", None);
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(listed.as_array().unwrap(), &channels);

    // Each channel answers bot info with its own bot user ID.
    let (a, b) = (&channels[0], &channels[1]);
    let token_a = a["accessToken"].as_str().unwrap();
    let (status, info) = http(&base, "GET", "/v2/bot/info", Some(token_a));
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(info.trim()).unwrap();
    assert_eq!(info["userId"], a["botUserId"]);

    // A push with channel A's token reaches A's inbox, not B's.
    let users_path = |c: &serde_json::Value| format!("/_emulator/users?channelId={}", c["channelId"].as_str().unwrap());
    let (_, users_a) = http(&base, "GET", &users_path(a), None);
    let users_a: serde_json::Value = serde_json::from_str(users_a.trim()).unwrap();
    assert_eq!(users_a.as_array().unwrap().len(), 2);
    let alice = users_a[0]["userId"].as_str().unwrap();
    let body = format!(r#"{{"to": "{alice}", "messages": [{{"type": "text", "text": "hi"}}]}}"#);
    let (status, _) = http_body(&base, "POST", "/v2/bot/message/push", Some(token_a), &body);
    assert_eq!(status, 200);
    let inbox = |c: &serde_json::Value| {
        let path = format!(
            "/_emulator/messages?userId={alice}&channelId={}",
            c["channelId"].as_str().unwrap()
        );
        http(&base, "GET", &path, None)
    };
    let (status, got) = inbox(a);
    assert_eq!(status, 200);
    let got: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    assert_eq!(got.as_array().unwrap().len(), 1);
    // Alice is not one of B's users.
    assert_eq!(inbox(b).0, 404);
}
