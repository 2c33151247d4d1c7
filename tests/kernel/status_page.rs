//! The status page (`GET /` of `serve --listen`) against the kernel: two
//! HTTP-checked real servers behind an IPv4 TCP service with real traffic
//! through IPVS, a fwmark service and an IPv6 one; one backend killed. The
//! fetched pages (all up, one down) are saved as artifacts
//! (`$VM_ARTIFACTS`, copied out of the VM by `scripts/vm-test`) for
//! `scripts/check-status-page`, which renders them in Chromium.
//!
//! A child module of `serve`, for its daemon and listener helpers.

use super::*;

/// The head and body of one HTTP/1.1 exchange.
fn fetch(addr: &str, path: &str, method: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not HTTP: {buf:?}"));
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return (head.to_string(), body.to_string());
    }
    // Chunks: SIZE (hex) CRLF, data, CRLF; a 0 size ends.
    let mut rest = body;
    let mut out = String::new();
    loop {
        let (size, tail) = rest
            .split_once("\r\n")
            .unwrap_or_else(|| panic!("bad chunk: {rest:?}"));
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return (head.to_string(), out);
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
}

/// Connections through IPVS to the VIP (served by the wildcard listener).
fn traffic(n: usize) {
    for _ in 0..n {
        let mut c =
            TcpStream::connect_timeout(&"192.0.2.1:80".parse().unwrap(), Duration::from_secs(5))
                .expect("connect through IPVS");
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(c, "GET / HTTP/1.0\r\nHost: 192.0.2.1\r\n\r\n").unwrap();
        let mut r = String::new();
        let _ = c.read_to_string(&mut r);
        assert!(r.starts_with("HTTP/1.0 200"), "{r:?}");
    }
}

/// The `<tr>` of a real server in the page.
fn row<'a>(page: &'a str, service: &str, server: &str) -> &'a str {
    let at = format!("data-service=\"{service}\" data-server=\"{server}\"");
    let i = page
        .find(&at)
        .unwrap_or_else(|| panic!("no row {service} -> {server} in\n{page}"));
    let start = page[..i].rfind("<tr ").unwrap();
    let end = i + page[i..].find("</tr>").unwrap();
    &page[start..end]
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Keep a page for the host (`scripts/vm-test` copies `$VM_ARTIFACTS`
/// out of the VM).
fn save(name: &str, page: &str) {
    match std::env::var_os("VM_ARTIFACTS") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(std::path::Path::new(&dir).join(name), page).unwrap();
        }
        None => println!("VM_ARTIFACTS unset: {name} not kept"),
    }
}

#[test]
fn status_page_shows_a_killed_backend() {
    let _g = fresh_netns();
    for a in ["192.0.2.1", "198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        local(a);
    }
    // The VIP and the real servers are local: connections to the VIP go
    // through IPVS (LOCALNODE) to the wildcard listener on port 80; each
    // real server's health is its own listener on port 8080.
    let web = http_server("0.0.0.0:80", 200);
    let _h1 = http_server("198.51.100.1:8080", 200);
    let h2 = http_server("198.51.100.2:8080", 200);
    let _h3 = tcp_server("198.51.100.3:9000");
    let text = lines(&[
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 2",
        "#@ name -t 192.0.2.1:80 \"web <front> & api\"",
        "#@ health -t 192.0.2.1:80 type=HTTP delay=0.5 timeout=0.4 max_retries=1 max_retries_down=2 url_path=/health",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.1:80 monitor_port=8080",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.2:80 monitor_port=8080",
        "-A -f 7 -s rr",
        "-a -f 7 -r 198.51.100.3:0 -g -w 4",
        "#@ health -f 7 type=TCP delay=0.5 timeout=0.4",
        "#@ health -f 7 -r 198.51.100.3:0 monitor_port=9000",
        "-A -t [2001:db8:1::80]:443 -s wlc",
        "-a -t [2001:db8:1::80]:443 -r [2001:db8:1::10]:443 -m -w 1",
    ]);
    let d = Daemon::start(&text, &["--listen", "127.0.0.1:9130"]);
    let svc = "TCP 192.0.2.1:80";
    d.wait_status(svc, "198.51.100.1:80", "ONLINE");
    d.wait_status(svc, "198.51.100.2:80", "ONLINE");
    d.wait_status("FWM 7", "198.51.100.3:0", "ONLINE");

    // Real traffic, then the first page: counters, rates pending.
    traffic(10);
    let (head, first) = fetch("127.0.0.1:9130", "/", "GET");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(first.starts_with("<!DOCTYPE html>"), "{first}");
    assert!(first.contains("<meta http-equiv=\"refresh\""), "{first}");
    assert!(first.contains("pending (first view"), "{first}");
    assert!(first.contains("class=\"banner ok\""), "{first}");
    // The name from FILE, escaped.
    assert!(first.contains("web &lt;front&gt; &amp; api"), "{first}");
    assert!(!first.contains("<front>"), "{first}");

    // More traffic: the second page has rates over the time between.
    std::thread::sleep(Duration::from_millis(1200));
    traffic(10);
    let (_, up) = fetch("127.0.0.1:9130", "/", "GET");
    assert!(up.contains("over the last"), "{up}");
    assert!(up.contains("All 4 real servers up"), "{up}");
    let r1 = row(&up, svc, "198.51.100.1:80");
    let r2 = row(&up, svc, "198.51.100.2:80");
    assert!(r1.starts_with("<tr class=\"up\""), "{r1}");
    assert!(r2.starts_with("<tr class=\"up\""), "{r2}");
    assert!(r1.contains("<b>3</b>\u{a0}/\u{a0}3"), "{r1}");
    assert!(r2.contains("<b>2</b>\u{a0}/\u{a0}2"), "{r2}");
    assert!(r1.contains("HTTP ok"), "{r1}");
    assert!(!up.contains("DOWN"), "{up}");
    let r3 = row(&up, "FWM 7", "198.51.100.3:0");
    assert!(r3.starts_with("<tr class=\"up\""), "{r3}");
    assert!(r3.contains(">Route<"), "{r3}");
    let r6 = row(&up, "TCP [2001:db8:1::80]:443", "[2001:db8:1::10]:443");
    assert!(r6.contains("data-status=\"NO_MONITOR\""), "{r6}");
    save("status-up.html", &up);

    // Kill .2's backend: it goes down, its weight to 0.
    drop(h2);
    let s2 = d.wait_status(svc, "198.51.100.2:80", "ERROR");
    let key = ServiceKey::tcp(addr("192.0.2.1"), 80);
    wait_weight(&key, "198.51.100.2", 80, Some(0), &d);
    traffic(10);
    let (_, down) = fetch("127.0.0.1:9130", "/", "GET");
    let reason = s2["last_reason"].as_str().unwrap_or_default().to_string();
    assert!(!reason.is_empty(), "{s2:#}");
    let r2 = row(&down, svc, "198.51.100.2:80");
    assert!(
        r2.starts_with(&format!(
            "<tr class=\"down\" data-service=\"{svc}\" data-server=\"198.51.100.2:80\" data-status=\"ERROR\">"
        )),
        "{r2}"
    );
    assert!(r2.contains("<span class=\"badge\">DOWN</span>"), "{r2}");
    assert!(r2.contains("FAIL"), "{r2}");
    assert!(r2.contains(&esc(&reason)), "{reason} in {r2}");
    assert!(r2.contains("<b>0</b>\u{a0}/\u{a0}2"), "{r2}");
    let r1 = row(&down, svc, "198.51.100.1:80");
    assert!(r1.starts_with("<tr class=\"up\""), "{r1}");
    assert!(r1.contains("<b>3</b>\u{a0}/\u{a0}3"), "{r1}");
    assert!(
        down.contains("id=\"banner\" data-down=\"1\">&#9888; 1 of 4 real servers DOWN"),
        "{down}"
    );
    assert!(down.contains("<title>1 DOWN · IPVS"), "{down}");
    assert!(down.contains("1 of 2 up"), "{down}");
    save("status-down.html", &down);

    // HEAD: the headers without a body; other paths and methods as
    // before.
    let (head, body) = fetch("127.0.0.1:9130", "/", "HEAD");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("text/html"), "{head}");
    assert_eq!(body, "");
    assert!(fetch("127.0.0.1:9130", "/nope", "GET")
        .0
        .starts_with("HTTP/1.1 404"));
    assert!(fetch("127.0.0.1:9130", "/", "POST")
        .0
        .starts_with("HTTP/1.1 405"));
    println!(
        "pages: {} bytes (all up), {} bytes (one down); {} connection(s) served",
        up.len(),
        down.len(),
        web.accepted()
    );
}
