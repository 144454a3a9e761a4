//! Operations checks with the real tools (installed by scripts/bootstrap.sh): the API contract
//! (`openapi-spec-validator`, `schemathesis` against a live node), the metrics exposition
//! (`promtool check metrics`) and alert rules (`promtool test rules`), the Grafana dashboard's
//! series, the configuration file, and the systemd unit (`systemd-analyze`).

mod common;

use common::NodeProc;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A tool the tests need, with the way to get it if it is missing.
fn tool(name: &str) -> PathBuf {
    let python = std::env::var_os("ZKPAY_PYTHON_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tools/python/.venv/bin"));
    let candidates = [python.join(name), PathBuf::from("/usr/bin").join(name)];
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return p.clone();
    }
    if let Some(p) = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }) {
        return p;
    }
    panic!("{name} is not installed: run scripts/bootstrap.sh (it installs the pinned tools)");
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A dev-network test-profile node on a free loopback port.
fn spawn(dir: &Path) -> NodeProc {
    NodeProc::start(
        Command::new(env!("CARGO_BIN_EXE_zkpay-node"))
            .args(["--profile", "test", "--bind", "127.0.0.1:0"])
            .args(["--network", "dev", "--batch-size", "2"])
            .arg("--data-dir")
            .arg(dir)
            .env("ZKPAY_LOG", "error")
            .stderr(Stdio::null()),
    )
}

/// GET `path`: status and body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let resp = text(&resp);
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

/// Metric names a PromQL expression uses (`zkpay_*`, `process_*`), without histogram suffixes.
fn series_in(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &expr[i..];
        if start_ok && (rest.starts_with("zkpay_") || rest.starts_with("process_")) {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            out.insert(base.to_string());
            i += end;
        } else {
            i += 1;
        }
    }
    out
}

/// Families in an exposition (`# TYPE name ...`).
fn families(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn alert_rules_pass_promtool_and_fire_on_their_series() {
    let deploy = repo().join("deploy");
    let promtool = tool("promtool");
    let check = run(Command::new(&promtool)
        .args(["check", "rules", "zkpay-alerts.yml"])
        .current_dir(&deploy));
    assert!(check.status.success(), "{}", text(&check.stdout));
    let tests = run(Command::new(&promtool)
        .args(["test", "rules", "zkpay-alerts.test.yml"])
        .current_dir(&deploy));
    assert!(
        tests.status.success(),
        "{}{}",
        text(&tests.stdout),
        text(&tests.stderr)
    );
    // every alert has a test that expects it to fire
    let rules = std::fs::read_to_string(deploy.join("zkpay-alerts.yml")).unwrap();
    let cases = std::fs::read_to_string(deploy.join("zkpay-alerts.test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for a in alerts {
        let firing = cases.split("alertname: ").skip(1).any(|case| {
            case.starts_with(a)
                && case
                    .lines()
                    .nth(1)
                    .is_some_and(|l| l.trim() == "exp_alerts:")
        });
        assert!(firing, "no promtool test expects {a} to fire");
    }
    // a broken rules file is refused (the check is not a no-op)
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(zkpay_x[5m] > 1\n",
    )
    .unwrap();
    let bad = run(Command::new(&promtool)
        .args(["check", "rules", "bad.yml"])
        .current_dir(dir.path()));
    assert!(!bad.status.success());
}

#[test]
fn live_node_meets_its_api_contract_and_metrics_lint() {
    let dir = tempfile::tempdir().unwrap();
    let node = spawn(dir.path());
    let base = format!("http://{}", node.addr);

    // The document the node serves is valid OpenAPI 3.1.
    let (status, doc) = get(&node.addr, "/openapi.json");
    assert_eq!(status, 200);
    let spec = dir.path().join("openapi.json");
    std::fs::write(&spec, &doc).unwrap();
    let v = run(Command::new(tool("openapi-spec-validator")).arg(&spec));
    assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
    // ... and a document that is not is refused
    let mut broken: serde_json::Value = serde_json::from_str(&doc).unwrap();
    broken["paths"]["/v1/roots"]["get"]["responses"] = serde_json::json!("none");
    std::fs::write(dir.path().join("broken.json"), broken.to_string()).unwrap();
    let v = run(Command::new(tool("openapi-spec-validator")).arg(dir.path().join("broken.json")));
    assert!(!v.status.success());

    // schemathesis, bounded, loopback only: no 5xx, every response matches its schema and
    // status list, every schema-violating request is refused. (Schema-valid payments with a
    // random proof are rightly refused, so positive_data_acceptance is left out.)
    let st = run(Command::new(tool("schemathesis"))
        .args(["run", &format!("{base}/openapi.json")])
        .args(["--url", &base])
        .args(["--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", "25", "--seed", "20261129"])
        .args(["--request-timeout", "20", "--workers", "1", "--no-color"])
        .current_dir(dir.path()));
    let report = text(&st.stdout);
    assert!(st.status.success(), "{report}{}", text(&st.stderr));
    assert!(report.contains("passed"), "{report}");

    // The exposition after that traffic lints clean.
    let (status, metrics) = get(&node.addr, "/metrics");
    assert_eq!(status, 200);
    let mut lint = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    lint.stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let lint = lint.wait_with_output().unwrap();
    assert!(
        lint.status.success() && lint.stdout.is_empty() && lint.stderr.is_empty(),
        "promtool check metrics: {}{}",
        text(&lint.stdout),
        text(&lint.stderr)
    );
    // schemathesis's malformed payments were counted by reason
    let refused: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("zkpay_payments_rejected_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(refused > 0.0, "{metrics}");
    assert!(metrics.contains("zkpay_build_info{"), "{metrics}");
    assert!(metrics.contains("keys=\"insecure-development\""));
    assert!(metrics.contains("network=\"dev\""));

    // Every series the alert rules and the dashboard use is exported.
    let exported = families(&metrics);
    let rules = std::fs::read_to_string(repo().join("deploy/zkpay-alerts.yml")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut used = series_in(&rules);
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            used.extend(series_in(t["expr"].as_str().unwrap()));
        }
    }
    assert!(used.len() >= 15, "{used:?}");
    let missing: Vec<_> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "used by deploy/ but not exported: {missing:?}"
    );
}

/// `zkpay-node` with `args` and the environment cleared of ZKPAY_* settings.
fn node_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkpay-node"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ZKPAY_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    run(&mut cmd)
}

fn setting(config: &str, key: &str) -> Option<String> {
    config
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .map(str::to_string)
}

#[test]
fn configuration_file_env_and_flags_layer_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // --print-config gives a file that reads back to itself
    let defaults = node_cli(&["--network", "dev", "--print-config"], &[]);
    assert!(defaults.status.success(), "{}", text(&defaults.stderr));
    let defaults = text(&defaults.stdout);
    let file = dir.path().join("zkpay-node.toml");
    std::fs::write(&file, &defaults).unwrap();
    let again = node_cli(&["--config", file.to_str().unwrap(), "--print-config"], &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), defaults);
    assert_eq!(setting(&defaults, "batch-size").as_deref(), Some("8"));
    assert_eq!(setting(&defaults, "min-fee").as_deref(), Some("[]"));

    // file < environment < flag
    std::fs::write(
        &file,
        "network = \"dev\"\nprofile = \"test\"\nbatch-size = 3\nmin-fee = [\"USD=0.01\", \"EUR=0.02\"]\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let c = text(&node_cli(&["--config", f, "--print-config"], &[]).stdout);
    assert_eq!(setting(&c, "batch-size").as_deref(), Some("3"));
    assert_eq!(setting(&c, "profile").as_deref(), Some("\"test\""));
    assert_eq!(
        setting(&c, "min-fee").as_deref(),
        Some("[\"USD=0.01\", \"EUR=0.02\"]")
    );
    let c = text(
        &node_cli(
            &["--config", f, "--print-config"],
            &[("ZKPAY_BATCH_SIZE", "5")],
        )
        .stdout,
    );
    assert_eq!(setting(&c, "batch-size").as_deref(), Some("5"));
    let c = text(
        &node_cli(
            &["--config", f, "--batch-size", "7", "--print-config"],
            &[("ZKPAY_BATCH_SIZE", "5")],
        )
        .stdout,
    );
    assert_eq!(setting(&c, "batch-size").as_deref(), Some("7"));
    // the environment can name the file
    let c = text(&node_cli(&["--print-config"], &[("ZKPAY_CONFIG", f)]).stdout);
    assert_eq!(setting(&c, "batch-size").as_deref(), Some("3"));

    // refused: unknown keys, wrong types, bad values, a missing file, no network anywhere
    for (body, why) in [
        (
            "network = \"dev\"\nbatch-sise = 3\n",
            "unknown setting `batch-sise`",
        ),
        (
            "network = \"dev\"\nbatch-size = true\n",
            "must be a string or an integer",
        ),
        ("network = \"dev\"\nbatch-size = -1\n", "batch-size"),
        (
            "network = \"dev\"\nconfig = \"x\"\n",
            "unknown setting `config`",
        ),
        (
            "network = \"dev\"\nbatch-size = 3\nbatch-size = 4\n",
            "not valid TOML",
        ),
        ("profile = \"test\"\n", "--network"),
    ] {
        std::fs::write(&file, body).unwrap();
        let out = node_cli(&["--config", f, "--print-config"], &[]);
        assert!(!out.status.success(), "{body:?} accepted");
        let err = text(&out.stderr);
        assert!(err.contains(why), "{body:?}: {err}");
    }
    let out = node_cli(
        &["--config", "/nonexistent/zkpay.toml", "--print-config"],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read the configuration file"));

    // the shipped example names every setting and is accepted
    let shipped = repo().join("deploy/zkpay-node.toml");
    let out = node_cli(
        &["--config", shipped.to_str().unwrap(), "--print-config"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let keys = |c: &str| -> BTreeSet<String> {
        c.lines()
            .filter_map(|l| {
                let l = l.strip_prefix("# ").unwrap_or(l);
                l.split_once(" = ").map(|(k, _)| k.to_string())
            })
            .filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .collect()
    };
    let shipped_text = std::fs::read_to_string(&shipped).unwrap();
    assert_eq!(keys(&shipped_text), keys(&defaults));
    assert_eq!(
        setting(&shipped_text, "data-dir").as_deref(),
        Some("\"/var/lib/zkpay/node\"")
    );
}

#[test]
fn systemd_unit_verifies_and_is_hardened() {
    let analyze = tool("systemd-analyze");
    let unit = std::fs::read_to_string(repo().join("deploy/zkpay-node.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/zkpay-node --config /etc/zkpay/zkpay-node.toml")
    );
    // point ExecStart at the binary built here so that verify can check it
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zkpay-node.service");
    std::fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/zkpay-node",
            env!("CARGO_BIN_EXE_zkpay-node"),
        ),
    )
    .unwrap();
    let v = run(Command::new(&analyze).arg("verify").arg(&path));
    assert!(
        v.status.success() && v.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        text(&v.stdout),
        text(&v.stderr)
    );
    // exposure 2.0 or lower ("OK" in systemd's scale)
    let s = run(Command::new(&analyze)
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&path));
    let report = text(&s.stdout);
    assert!(s.status.success(), "{report}{}", text(&s.stderr));
    assert!(report.contains("Overall exposure level"), "{report}");
    // the same unit without its hardening fails the threshold (the check bites)
    let bare: String = unit
        .lines()
        .take_while(|l| !l.starts_with("# Hardening"))
        .chain(["", "[Install]", "WantedBy=multi-user.target"])
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "/usr/local/bin/zkpay-node",
            env!("CARGO_BIN_EXE_zkpay-node"),
        );
    let bare_path = dir.path().join("bare.service");
    std::fs::write(&bare_path, bare).unwrap();
    let s = run(Command::new(&analyze)
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&bare_path));
    assert!(!s.status.success(), "{}", text(&s.stdout));
}
