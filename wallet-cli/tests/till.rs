//! `zkpay till serve`: the shop-counter page, driven in headless Chromium (Debian's `chromium`,
//! over the DevTools protocol) against a spawned test-profile node, and its HTTP guards.
//!
//! Screenshots are written under `<target>/tmp/till-screenshots/` for a person to look at.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "counter-token-0123456789";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop (its stdout kept open).
struct Proc {
    child: Child,
    _out: Option<BufReader<ChildStdout>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd`, waits for its first stdout line and returns what follows `prefix` in it.
fn spawn_and_read(mut cmd: Command, prefix: &str) -> (Proc, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binaries are built by `cargo test --workspace`");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let rest = line
        .trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
        .to_string();
    (
        Proc {
            child,
            _out: Some(out),
        },
        rest,
    )
}

fn node(dir: &Path, port: u16) -> Proc {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("zkpay-node"));
    c.args(["--profile", "test", "--network", "dev", "--batch-size", "2"])
        // slow enough batching that the page shows *paid* before *confirmed*
        .args(["--batch-timeout-ms", "2500"])
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .env("ZKPAY_LOG", "warn");
    spawn_and_read(c, "listening on ").0
}

struct Env {
    root: tempfile::TempDir,
    node_url: String,
}

impl Env {
    /// A merchant and its till, with no node: nothing listens at the node's address, and the
    /// till starts anyway and says the node is unreachable.
    fn offline_till() -> Self {
        let env = Env {
            root: tempfile::tempdir().unwrap(),
            node_url: format!("http://127.0.0.1:{}", free_port()),
        };
        env.merchant_and_till();
        env
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn zkpay(&self, wallet: &str) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("zkpay").unwrap();
        c.arg("--data-dir")
            .arg(self.dir(wallet))
            .arg("--node")
            .arg(&self.node_url)
            .env("ZKPAY_PASSPHRASE", format!("pass-{wallet}"))
            .env_remove("ZKPAY_NETWORK")
            .env_remove("ZKPAY_TILL_TOKEN")
            .timeout(Duration::from_secs(300));
        c
    }

    fn json(&self, wallet: &str, args: &[&str]) -> (i32, Value, String) {
        let out = self
            .zkpay(wallet)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&out.stdout).into_owned()));
        (
            out.status.code().unwrap_or(-1),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, wallet: &str, args: &[&str]) -> Value {
        let (code, v, err) = self.json(wallet, args);
        assert_eq!(code, 0, "zkpay {args:?}: {v} {err}");
        v
    }

    /// A merchant wallet and its watch-only till.
    fn merchant_and_till(&self) {
        self.ok("merchant", &["init"]);
        let fvk = self.ok("merchant", &["viewing-key", "export"])["viewing_key"]
            .as_str()
            .unwrap()
            .to_string();
        self.ok("till", &["init", "--watch", &fvk]);
        std::fs::write(self.dir("token"), format!("{TOKEN}\n")).unwrap();
    }

    /// `zkpay till serve` on the till wallet; returns the process and its URL.
    fn till(&self, port: u16, token: bool, extra: &[&str]) -> (Proc, String) {
        self.till_at(&format!("127.0.0.1:{port}"), token, extra)
    }

    /// `zkpay till serve` on the till wallet, listening on `bind`.
    fn till_at(&self, bind: &str, token: bool, extra: &[&str]) -> (Proc, String) {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("zkpay"));
        c.arg("--data-dir")
            .arg(self.dir("till"))
            .arg("--node")
            .arg(&self.node_url)
            .env("ZKPAY_PASSPHRASE", "pass-till")
            .env_remove("ZKPAY_TILL_TOKEN")
            .args(["till", "serve", "--bind", bind])
            .args([
                "--merchant",
                "Corner Café",
                "--asset",
                "USD",
                "--asset",
                "EUR",
            ])
            .args(["--asset", "PTS.0", "--poll-ms", "300"])
            .args(extra);
        if token {
            c.arg("--token-file").arg(self.dir("token"));
        }
        spawn_and_read(c, "till listening on ")
    }
}

// --- a minimal DevTools-protocol client -----------------------------------------------------

fn chromium() -> PathBuf {
    let p = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.exists(),
        "{} not found: the browser tests need Debian's chromium (run scripts/bootstrap.sh, or set CHROMIUM)",
        p.display()
    );
    p
}

struct Browser {
    ws: tungstenite::WebSocket<TcpStream>,
    next: u64,
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn launch() -> Self {
        Self::launch_with(&[])
    }

    fn launch_with(extra: &[&str]) -> Self {
        let port = free_port();
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--mute-audio",
                "--window-size=1280,1100",
            ])
            .args(extra)
            .arg(format!("--remote-debugging-port={port}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let ws_url = loop {
            let found = ureq::get(&format!("http://127.0.0.1:{port}/json/list"))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .and_then(|v| {
                    v.as_array()?
                        .iter()
                        .find(|t| t["type"] == "page")
                        .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
                });
            if let Some(u) = found {
                break u;
            }
            assert!(Instant::now() < deadline, "chromium did not start");
            std::thread::sleep(Duration::from_millis(200));
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let (ws, _) = tungstenite::client(ws_url.as_str(), stream).unwrap();
        let mut b = Self {
            ws,
            next: 0,
            child,
            _profile: profile,
        };
        b.call("Page.enable", json!({}));
        b
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(tungstenite::Message::text(msg)).unwrap();
        loop {
            let m = self.ws.read().unwrap();
            let Ok(text) = m.into_text() else { continue };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "awaitPromise": true, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Polls `js` until it gives a truthy value.
    fn wait_for(&mut self, what: &str, js: &str, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.eval(js);
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let page = self.eval("document.body.innerText");
                panic!("timed out waiting for {what}: last {v}; page:\n{page}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for(
            "page load",
            "document.readyState === 'complete' && location.href.startsWith('http')",
            30,
        );
    }

    fn visible(&mut self, id: &str) -> bool {
        self.eval(&format!("!document.getElementById({id:?}).hidden")) == json!(true)
    }

    fn click(&mut self, id: &str) {
        let at = self.eval(&format!(
            "(() => {{ const e = document.getElementById({id:?}); e.scrollIntoView({{block: 'center'}});
               const b = e.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; }})()"
        ));
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": at[0], "y": at[1], "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Focuses an input, clears it and types `text`.
    fn type_into(&mut self, id: &str, text: &str) {
        self.eval(&format!(
            "(() => {{ const e = document.getElementById({id:?}); e.focus(); e.value = ''; }})()"
        ));
        self.call("Input.insertText", json!({ "text": text }));
    }

    fn screenshot(&mut self, name: &str) -> Vec<u8> {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("till-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), &png).unwrap();
        png
    }

    fn status(&mut self) -> String {
        self.eval("document.getElementById('status').dataset.status")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn wait_status(&mut self, want: &str, secs: u64) {
        self.wait_for(
            &format!("status {want}"),
            &format!("document.getElementById('status').dataset.status === {want:?}"),
            secs,
        );
    }

    /// Types an amount and order, picks the asset and asks for the QR; returns the request's
    /// URI as the page holds it once the QR image has loaded.
    fn new_request(&mut self, amount: &str, asset: &str, order: &str, label: &str) -> String {
        let before = self.eval("document.getElementById('qr').dataset.id || ''");
        self.type_into("amount", amount);
        self.eval(&format!(
            "(() => {{ const s = document.getElementById('asset'); s.value = {asset:?};
               s.dispatchEvent(new Event('change')); }})()"
        ));
        self.type_into("order", order);
        self.type_into("label", label);
        self.click("show");
        self.wait_for(
            "the QR code",
            &format!(
                "(() => {{ const q = document.getElementById('qr');
                   return q.dataset.id && q.dataset.id !== {before} && q.complete && q.naturalWidth > 0
                     && document.getElementById('status').dataset.status === 'waiting'; }})()"
            ),
            30,
        );
        self.eval("document.getElementById('req-uri').textContent")
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The whole counter flow in a real browser: token, a QR decoded from a screenshot and paid,
/// *underpaid*, *paid* then *confirmed* without reload, the node restarting in the middle, the
/// history, CSV and receipt checker, the till server restarting, and an expired request.
#[test]
fn a_cashier_takes_a_payment_in_a_real_browser() {
    let root = tempfile::tempdir().unwrap();
    let node_port = free_port();
    let mut n = node(&root.path().join("node"), node_port);
    let env = Env {
        root,
        node_url: format!("http://127.0.0.1:{node_port}"),
    };
    env.merchant_and_till();
    env.ok("customer", &["init"]);
    env.ok("customer", &["faucet", "--amount", "100.00"]);
    env.ok("customer", &["deposit", "--amount", "60.00", "--wait"]);

    let till_port = free_port();
    let (till, url) = env.till(till_port, true, &[]);
    let mut b = Browser::launch();
    b.goto(&url);

    // the page asks for the token; a wrong one is refused
    b.wait_for(
        "the login form",
        "!document.getElementById('login').hidden",
        30,
    );
    assert!(!b.visible("main"));
    b.type_into("token", "not-the-counter-token");
    b.click("login-btn");
    b.wait_for(
        "the refusal",
        "document.getElementById('login-error').textContent.includes('Wrong token')",
        30,
    );
    b.screenshot("01-wrong-token.png");
    assert!(!b.visible("main"));
    b.type_into("token", TOKEN);
    b.click("login-btn");
    b.wait_for("the counter", "!document.getElementById('main').hidden", 30);
    // the cookie is HTTP-only: the page's script cannot read it
    assert_eq!(b.eval("document.cookie"), json!(""));
    b.eval("window.__tillLoad = Math.random(); window.__tillLoad");
    let load = b.eval("window.__tillLoad");

    // a request: the QR in a screenshot decodes to the canonical URI
    let uri = b.new_request("12.50", "USD", "order-42", "2 coffees");
    let shot = b.screenshot("02-request.png");
    let decoded = zkpay_wallet::qr::decode_image(&shot).expect("the QR in the screenshot");
    assert_eq!(decoded, uri);
    let req = zkpay_protocol::uri::PaymentRequest::parse(&uri).unwrap();
    assert_eq!(req.to_uri(), uri, "canonical");
    assert_eq!(req.amount, Some(1_250));
    assert_eq!(req.label.as_deref(), Some("Corner Café"));
    assert_eq!(req.message.as_deref(), Some("2 coffees"));
    assert_eq!(req.invoice.as_deref(), Some(&b"order-42"[..]));
    assert_eq!(
        b.eval("document.getElementById('req-words').textContent"),
        json!("twelve US dollars and fifty cents")
    );
    assert_eq!(
        b.eval("document.getElementById('req-order').textContent"),
        json!("Order order-42 \u{b7} 2 coffees")
    );
    assert_eq!(
        b.eval("document.getElementById('req-amount').textContent"),
        json!("12.50 USD")
    );
    assert!(b
        .eval("document.getElementById('countdown').textContent")
        .as_str()
        .unwrap()
        .starts_with("Expires in 14:"));

    // someone edits the amount to 0.01 and pays it: underpaid, not paid
    let edited = uri.replace("amount=12.50", "amount=0.01");
    env.ok("customer", &["pay", &edited, "--yes", "--wait"]);
    b.wait_status("underpaid", 60);
    b.screenshot("03-underpaid.png");

    // the real payment: paid, then confirmed, without a reload
    let p = env.ok("customer", &["pay", &decoded, "--yes"]);
    let payment = p["payment"].as_str().unwrap().to_string();
    b.wait_status("paid", 30);
    b.screenshot("04-paid.png");
    b.wait_status("confirmed", 60);
    let text = b.eval("document.getElementById('status').textContent");
    assert!(
        text.as_str()
            .unwrap()
            .starts_with("\u{2714} Confirmed in batch "),
        "{text}"
    );
    // (the flash over, for a steady picture)
    b.wait_for(
        "the flash to end",
        "document.getAnimations().length === 0",
        10,
    );
    b.screenshot("05-confirmed.png");
    assert_eq!(b.eval("window.__tillLoad"), load, "the page was reloaded");
    b.wait_for(
        "today's total",
        "document.getElementById('totals').textContent === 'Confirmed today: 12.50 USD'",
        10,
    );

    // the node goes away in the middle of a sale, and comes back
    let uri2 = b.new_request("3.00", "USD", "", "");
    drop(n);
    b.wait_for(
        "the node banner",
        "!document.getElementById('node-banner').hidden",
        30,
    );
    b.screenshot("06-node-down.png");
    assert_eq!(b.status(), "waiting");
    n = node(&env.dir("node"), node_port);
    b.wait_for(
        "the node banner to go",
        "document.getElementById('node-banner').hidden",
        60,
    );
    env.ok("customer", &["pay", &uri2, "--yes"]);
    b.wait_status("confirmed", 90);
    assert_eq!(b.eval("window.__tillLoad"), load, "the page was reloaded");
    b.wait_for(
        "today's total",
        "document.getElementById('totals').textContent === 'Confirmed today: 15.50 USD'",
        10,
    );
    // the history and its CSV export
    let rows = b.eval(
        "[...document.querySelectorAll('#history tbody tr')].map(r => [...r.cells].map(c => c.textContent))",
    );
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[1][1], "order-42");
    assert_eq!(rows[1][2], "12.50 USD");
    assert_eq!(rows[1][3], "confirmed");
    let csv = b.eval("fetch('/api/history.csv').then(r => r.text())");
    let csv = csv.as_str().unwrap();
    assert!(
        csv.starts_with("created_utc,request,invoice,order,label,asset"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l
                .contains(r#","order-42","order-42","2 coffees","USD","12.50 USD","confirmed","#)),
        "{csv}"
    );

    // the receipt checker: the customer's receipt, pasted
    let rfile = env.dir("receipt.json");
    env.ok(
        "customer",
        &[
            "receipt",
            "export",
            &payment,
            "--out",
            rfile.to_str().unwrap(),
        ],
    );
    let receipt = std::fs::read_to_string(&rfile).unwrap();
    b.eval(&format!(
        "document.getElementById('receipt-text').value = {}",
        serde_json::to_string(&receipt).unwrap()
    ));
    b.click("receipt-check");
    let verdict = b.wait_for(
        "the receipt verdict",
        "(() => { const t = document.getElementById('receipt-result').textContent;
                  return t.startsWith('VALID') || t.startsWith('NOT') ? t : null; })()",
        30,
    );
    let verdict = verdict.as_str().unwrap();
    assert!(verdict.starts_with("VALID: "), "{verdict}");
    assert!(verdict.contains("12.50 USD"), "{verdict}");
    assert!(verdict.contains("Paid to this till."), "{verdict}");
    assert!(
        verdict.contains("For request 1 (order order-42). Already counted"),
        "{verdict}"
    );
    // a receipt with its amount changed is not valid
    let forged = receipt.replace("\"value\": 1250", "\"value\": 99999");
    assert_ne!(forged, receipt);
    b.eval(&format!(
        "document.getElementById('receipt-text').value = {}",
        serde_json::to_string(&forged).unwrap()
    ));
    b.click("receipt-check");
    b.wait_for(
        "the forged receipt's verdict",
        "document.getElementById('receipt-result').textContent.startsWith('NOT VALID')",
        30,
    );
    b.screenshot("07-receipt.png");

    // the till's server restarts (requests now expire after 3 s): the open page reconnects by
    // itself, the history is still there, and a request nobody pays expires
    drop(till);
    b.wait_for(
        "the offline banner",
        "!document.getElementById('offline').hidden",
        30,
    );
    let (_till, url2) = env.till(till_port, true, &["--expires-in", "3"]);
    assert_eq!(url2, url);
    b.wait_for(
        "the page to reconnect",
        "document.getElementById('offline').hidden",
        60,
    );
    b.wait_for(
        "the history after the restart",
        "document.querySelectorAll('#history tbody tr').length === 2",
        30,
    );
    b.new_request("1.00", "USD", "order-43", "");
    b.wait_status("expired", 30);
    b.screenshot("08-expired.png");
    assert_eq!(b.eval("window.__tillLoad"), load, "the page was reloaded");
    drop(n);
}

fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut r = ureq::get(url);
    for (k, v) in headers {
        r = r.set(k, v);
    }
    match r.call() {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, resp)) => (s, resp.into_string().unwrap_or_default()),
        Err(e) => panic!("{url}: {e}"),
    }
}

fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, Option<String>) {
    let mut r = ureq::post(url).set("Content-Type", "application/json");
    for (k, v) in headers {
        r = r.set(k, v);
    }
    match r.send_bytes(body) {
        Ok(resp) => {
            let cookie = resp.header("set-cookie").map(str::to_string);
            (
                resp.status(),
                resp.into_string().unwrap_or_default(),
                cookie,
            )
        }
        Err(ureq::Error::Status(s, resp)) => (s, resp.into_string().unwrap_or_default(), None),
        Err(e) => panic!("{url}: {e}"),
    }
}

const TILL: (&str, &str) = ("X-Zkpay-Till", "1");

/// The server's guards, without a browser or a node: refusals at start, cross-site and
/// DNS-rebinding requests, bodies, rates, tokens, and the node shown unreachable.
#[test]
fn till_server_guards() {
    let env = Env::offline_till();
    // a spending wallet cannot be a till; a public address needs a token
    let (code, v, _) = env.json(
        "merchant",
        &[
            "till",
            "serve",
            "--merchant",
            "Shop",
            "--bind",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(code, 6, "{v}");
    assert!(v["error"].as_str().unwrap().contains("watch-only"), "{v}");
    let (code, v, _) = env.json(
        "till",
        &["till", "serve", "--merchant", "Shop", "--bind", "0.0.0.0:0"],
    );
    assert_eq!(code, 2, "{v}");
    assert!(v["error"].as_str().unwrap().contains("--token"), "{v}");
    let (code, v, _) = env.json(
        "till",
        &["till", "serve", "--merchant", "Shop", "--token", "short"],
    );
    assert_eq!(code, 2, "{v}");

    // loopback without a token
    let (till, url) = env.till(0, false, &[]);
    let make = |body: Value| {
        post(
            &format!("{url}/api/requests"),
            &[TILL],
            body.to_string().as_bytes(),
        )
    };
    let (s, page) = get(&format!("{url}/"), &[]);
    assert_eq!(s, 200);
    assert!(
        page.contains("/till.js") && !page.contains("http"),
        "no outside resource"
    );
    // DNS rebinding: another host name
    let (s, _) = get(&format!("{url}/api/state"), &[("Host", "evil.example:80")]);
    assert_eq!(s, 400);
    // cross-site requests
    let body = json!({"amount": "1.00", "asset": "USD"}).to_string();
    let (s, _, _) = post(&format!("{url}/api/requests"), &[], body.as_bytes());
    assert_eq!(s, 403, "no X-Zkpay-Till header");
    let (s, _, _) = post(
        &format!("{url}/api/requests"),
        &[TILL, ("Origin", "http://evil.example")],
        body.as_bytes(),
    );
    assert_eq!(s, 403, "another origin");
    let (s, _, _) = post(
        &format!("{url}/api/requests"),
        &[TILL, ("Sec-Fetch-Site", "cross-site")],
        body.as_bytes(),
    );
    assert_eq!(s, 403, "another site");
    // nor may another site read anything (an <img>, an EventSource, a no-cors fetch)
    for path in [
        "/api/state",
        "/api/events",
        "/api/history.csv",
        "/api/requests/1/qr.svg",
    ] {
        let (s, _) = get(&format!("{url}{path}"), &[("Sec-Fetch-Site", "cross-site")]);
        assert_eq!(s, 403, "{path}");
        let (s, _) = get(&format!("{url}{path}"), &[("Sec-Fetch-Site", "same-site")]);
        assert_eq!(s, 403, "{path}");
    }
    let (s, _, _) = ureq::post(&format!("{url}/api/requests"))
        .set("X-Zkpay-Till", "1")
        .set("Content-Type", "text/plain")
        .send_string(&body)
        .map(|r| (r.status(), (), ()))
        .unwrap_or_else(|e| match e {
            ureq::Error::Status(s, _) => (s, (), ()),
            e => panic!("{e}"),
        });
    assert_eq!(s, 415, "not JSON");
    // what the cashier types is checked
    let (s, r, _) = make(json!({"amount": "1.00", "asset": "USD", "order": "A-1"}));
    assert_eq!(s, 201, "{r}");
    let r: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(r["request"]["status"], "waiting");
    assert_eq!(r["request"]["amount_words"], "one US dollar");
    for (bad, why) in [
        (json!({"amount": "1.00", "asset": "GBP"}), "not sold"),
        (json!({"amount": "0", "asset": "USD"}), "above zero"),
        (json!({"amount": "1.001", "asset": "USD"}), ""),
        (
            json!({"amount": "1.00", "asset": "USD", "order": "A-1"}),
            "already issued",
        ),
        (
            json!({"amount": "1.00", "asset": "USD", "label": "x\u{202e}y"}),
            "bidirectional",
        ),
        (
            json!({"amount": "1.00", "asset": "USD", "order": "o".repeat(65)}),
            "at most",
        ),
        (
            json!({"amount": "1.00", "asset": "USD", "order": "till-20261129-9"}),
            "till's own",
        ),
    ] {
        let (s, r, _) = make(bad.clone());
        assert_eq!(s, 422, "{bad}: {r}");
        assert!(r.contains(why), "{bad}: {r}");
    }
    let (s, _, _) = make(json!({"amount": "1.00", "asset": "USD", "extra": 1}));
    assert_eq!(s, 422, "unknown field");
    // bodies over 1 MiB
    let big = format!("{{\"amount\": \"{}\"}}", "1".repeat(1 << 20));
    let (s, _, _) = post(&format!("{url}/api/requests"), &[TILL], big.as_bytes());
    assert_eq!(s, 413);
    // the QR of a request, and of none
    let (s, svg) = get(&format!("{url}/api/requests/1/qr.svg"), &[]);
    assert_eq!(s, 200);
    assert_eq!(
        zkpay_wallet::qr::decode_svg(&svg).unwrap(),
        r["request"]["uri"].as_str().unwrap()
    );
    assert_eq!(get(&format!("{url}/api/requests/99/qr.svg"), &[]).0, 404);
    // security headers
    let resp = ureq::get(&format!("{url}/")).call().unwrap();
    assert!(resp
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(resp.header("x-frame-options"), Some("DENY"));
    // the node is down: the state says so
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, st) = get(&format!("{url}/api/state"), &[]);
        let st: Value = serde_json::from_str(&st).unwrap();
        if st["node"]["ok"] == false && st["node"]["error"].is_string() {
            assert!(st["node"]["error"]
                .as_str()
                .unwrap()
                .contains("unreachable"));
            break;
        }
        assert!(Instant::now() < deadline, "{st}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // a flood of requests from one address is slowed down
    let codes: Vec<u16> = (0..40)
        .map(|i| make(json!({"amount": "1.00", "asset": "USD", "order": format!("f-{i}")})).0)
        .collect();
    assert!(codes.contains(&201) && codes.contains(&429), "{codes:?}");
    drop(till);

    // till.json is a plain file: a status written into it is not believed...
    let book = env.dir("till").join("till.json");
    let original = std::fs::read(&book).unwrap();
    let mut v: Value = serde_json::from_slice(&original).unwrap();
    let a1 = v["records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["invoice"] == "A-1")
        .unwrap();
    a1["status"] = json!("confirmed");
    a1["batch"] = json!(1);
    a1["received"] = json!(100);
    std::fs::write(&book, serde_json::to_vec(&v).unwrap()).unwrap();
    {
        let (_till, url) = env.till(0, false, &[]);
        let (_, st) = get(&format!("{url}/api/state"), &[]);
        let st: Value = serde_json::from_str(&st).unwrap();
        let a1 = st["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["invoice"] == "A-1")
            .unwrap();
        assert_eq!(a1["status"], "waiting", "{a1}");
        assert_eq!(st["totals"], json!([]), "{st}");
    }
    // ...and a request whose amount differs from the wallet's invoice stops the till
    let mut v: Value = serde_json::from_slice(&original).unwrap();
    v["records"][0]["amount"] = json!(1);
    std::fs::write(&book, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, out, _) = env.json(
        "till",
        &[
            "till",
            "serve",
            "--merchant",
            "Shop",
            "--bind",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(code, 6, "{out}");
    assert!(
        out["error"].as_str().unwrap().contains("till.json"),
        "{out}"
    );
    std::fs::write(&book, &original).unwrap();

    // with a token (as on a shop's network)
    let (_till, url) = env.till(0, true, &[]);
    assert_eq!(get(&format!("{url}/api/state"), &[]).0, 401);
    let (s, sess) = get(&format!("{url}/api/session"), &[]);
    assert_eq!(s, 200);
    assert!(sess.contains("\"auth_required\":true"), "{sess}");
    // with a token the Host header is not restricted (the till may be reached by LAN address)
    let login = |t: &str| {
        post(
            &format!("{url}/api/login"),
            &[TILL],
            json!({ "token": t }).to_string().as_bytes(),
        )
    };
    let (s, _, cookie) = login(TOKEN);
    assert_eq!(s, 200);
    let cookie = cookie.unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(TOKEN), "the cookie is not the token");
    let pair = cookie.split(';').next().unwrap().to_string();
    assert_eq!(
        get(&format!("{url}/api/state"), &[("Cookie", &pair)]).0,
        200
    );
    assert_eq!(
        get(&format!("{url}/api/state"), &[("Cookie", "zkpay_till=00")]).0,
        401
    );
    // the history persisted across the restart
    let (_, st) = get(&format!("{url}/api/state"), &[("Cookie", &pair)]);
    assert!(st.contains("\"invoice\":\"A-1\""), "{st}");
    // guessing tokens: refused, then rate-limited
    let codes: Vec<u16> = (0..12)
        .map(|i| login(&format!("guess-{i}-xxxxxxxxxxxxx")).0)
        .collect();
    assert_eq!(&codes[..10], &[401; 10]);
    assert_eq!(codes[10], 429);
    assert_eq!(login(TOKEN).0, 429, "locked for the minute");
}

/// On the shop's network the till speaks TLS: without a certificate (or an explicit
/// --plain-http for a TLS proxy in front) it does not start; with one, a browser logs in over
/// HTTPS and gets a Secure, HTTP-only cookie, and plain HTTP gets nothing.
#[test]
fn a_till_on_the_shop_network_speaks_tls() {
    let env = Env::offline_till();
    let token = env.dir("token");
    let token = token.to_str().unwrap();
    let off_loopback = |extra: &[&str]| {
        let mut args = vec!["till", "serve", "--merchant", "Shop", "--bind", "0.0.0.0:0"];
        args.extend_from_slice(&["--token-file", token]);
        args.extend_from_slice(extra);
        env.json("till", &args)
    };
    let (code, v, _) = off_loopback(&[]);
    assert_eq!(code, 2, "{v}");
    assert!(v["error"].as_str().unwrap().contains("--tls-cert"), "{v}");

    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (env.dir("cert.pem"), env.dir("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    // a key that is not the certificate's is refused at start
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let wrong_key = env.dir("other-key.pem");
    std::fs::write(&wrong_key, other.key_pair.serialize_pem()).unwrap();
    let (code, v, _) = off_loopback(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        wrong_key.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{v}");

    let port = free_port();
    let (_till, listening) = env.till_at(
        &format!("0.0.0.0:{port}"),
        true,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(listening, format!("https://0.0.0.0:{port}"));
    // plain HTTP on the TLS port gets no answer
    assert!(ureq::get(&format!("http://127.0.0.1:{port}/api/session"))
        .call()
        .is_err());

    let url = format!("https://127.0.0.1:{port}");
    let mut b = Browser::launch_with(&["--ignore-certificate-errors"]);
    b.goto(&format!("{url}/"));
    b.wait_for(
        "the login form",
        "!document.getElementById('login').hidden",
        30,
    );
    b.type_into("token", TOKEN);
    b.click("login-btn");
    b.wait_for("the counter", "!document.getElementById('main').hidden", 30);
    let cookies = b.call("Network.getCookies", json!({ "urls": [url] }));
    let c = &cookies["cookies"][0];
    assert_eq!(c["name"], "zkpay_till", "{cookies}");
    assert_eq!(
        (c["secure"].as_bool(), c["httpOnly"].as_bool()),
        (Some(true), Some(true))
    );
    let uri = b.new_request("4.20", "USD", "tls-1", "");
    let shot = b.screenshot("09-tls.png");
    assert_eq!(zkpay_wallet::qr::decode_image(&shot).unwrap(), uri);
}
