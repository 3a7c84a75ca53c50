//! Reading what node_exporter serves: a scrape over HTTP from inside a
//! namespace, and the value of one sample; the directory a test's
//! resources write their textfiles to.

use super::{Netns, in_netns};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// GET /metrics from inside `ns`, retried until node_exporter listens.
pub fn scrape(ns: &Netns, address: &'static str) -> String {
    in_netns(ns, move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match std::net::TcpStream::connect(address) {
                Ok(mut stream) => {
                    let request = format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n");
                    stream.write_all(request.as_bytes()).expect("send request");
                    let mut response = String::new();
                    stream.read_to_string(&mut response).expect("read response");
                    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
                    return body.expect("an HTTP response with a body");
                }
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Err(err) => panic!("node_exporter at {address} does not answer: {err}"),
            }
        }
    })
    .join()
    .expect("scrape thread")
}

/// The value of the sample of `metric` that has every label in `labels`
/// (node_exporter sorts labels, so each is looked for on its own).
pub fn value(scraped: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    scraped
        .lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// A `metrics_dir` inside the test's run directory, created.
pub fn metrics_dir(rsctmp: &Path) -> PathBuf {
    let dir = rsctmp.join("metrics");
    std::fs::create_dir_all(&dir).expect("metrics dir");
    dir
}
