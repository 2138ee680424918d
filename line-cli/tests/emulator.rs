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
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_linectl"))
        .arg("emulator")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (Killed(child), base)
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
