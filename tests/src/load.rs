//! A closed-loop HTTP load generator: `concurrency` clients, each on its own
//! keep-alive HTTP/1.1 connection, each sending its next request as soon as
//! the last one is answered. Latency is measured per request, from send to the
//! end of the answer's body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What a load run measured.
#[derive(Debug, Default)]
pub struct Load {
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers `check` refused, with the first one's text.
    pub wrong: u64,
    pub first_wrong: Option<String>,
    /// Requests that got no answer (connection errors), with the first error.
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Load {
    pub fn answered(&self) -> u64 {
        self.statuses.values().sum()
    }

    /// Answers with this status.
    pub fn with_status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Answers per second over the whole run.
    pub fn per_second(&self) -> f64 {
        self.answered() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile of latency (0.5, 0.99…), in ms.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1e3
    }

    /// One line: rate and latency quantiles.
    pub fn summary(&self) -> String {
        format!(
            "{} answered in {:.1} s = {:.0}/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; statuses {:?}; {} wrong, {} errors",
            self.answered(),
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.percentile_ms(0.5),
            self.percentile_ms(0.9),
            self.percentile_ms(0.99),
            self.percentile_ms(1.0),
            self.statuses,
            self.wrong,
            self.errors,
        )
    }
}

/// POST `body(client, n)` to `url` (`http://127.0.0.1:PORT/path`) from
/// `concurrency` clients for `duration`; `check(status, body, client, n)`
/// says whether an answer is right.
pub async fn drive(
    url: &str,
    concurrency: usize,
    duration: Duration,
    body: impl Fn(usize, u64) -> Vec<u8> + Send + Sync + 'static,
    check: impl Fn(u16, &[u8], usize, u64) -> bool + Send + Sync + 'static,
) -> Load {
    drive_spread(&[url.to_string()], concurrency, duration, body, check).await
}

/// [`drive`] over several servers: client `i` sends to `urls[i % urls.len()]`.
pub async fn drive_spread(
    urls: &[String],
    concurrency: usize,
    duration: Duration,
    body: impl Fn(usize, u64) -> Vec<u8> + Send + Sync + 'static,
    check: impl Fn(u16, &[u8], usize, u64) -> bool + Send + Sync + 'static,
) -> Load {
    let targets: Vec<(String, String)> = urls
        .iter()
        .map(|url| {
            let rest = url.strip_prefix("http://").expect("an http:// URL");
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (authority.to_string(), if path.is_empty() { "/".to_string() } else { path.to_string() })
        })
        .collect();
    let (body, check) = (std::sync::Arc::new(body), std::sync::Arc::new(check));
    let started = Instant::now();
    let until = started + duration;
    let mut clients = Vec::new();
    for client in 0..concurrency {
        let (authority, path) = targets[client % targets.len()].clone();
        let (body, check) = (body.clone(), check.clone());
        clients.push(tokio::spawn(async move {
            let mut load = Load::default();
            let mut sender = None;
            let mut n = 0u64;
            while Instant::now() < until {
                if sender.is_none() {
                    match connect(&authority).await {
                        Ok(s) => sender = Some(s),
                        Err(e) => {
                            load.errors += 1;
                            load.first_error.get_or_insert(e);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let request = hyper::Request::post(path.as_str())
                    .header("host", authority.as_str())
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body(client, n))))
                    .expect("a valid request");
                let sent = Instant::now();
                let answer = async {
                    let response = sender.as_mut().expect("connected").send_request(request).await?;
                    let status = response.status().as_u16();
                    let bytes = response.into_body().collect().await?.to_bytes();
                    Ok::<_, hyper::Error>((status, bytes))
                };
                match answer.await {
                    Ok((status, bytes)) => {
                        load.latencies.push(sent.elapsed());
                        *load.statuses.entry(status).or_default() += 1;
                        if !check(status, &bytes, client, n) {
                            load.wrong += 1;
                            load.first_wrong
                                .get_or_insert_with(|| format!("{status} {}", String::from_utf8_lossy(&bytes)));
                        }
                    }
                    Err(e) => {
                        load.errors += 1;
                        load.first_error.get_or_insert(e.to_string());
                        sender = None;
                    }
                }
                n += 1;
            }
            load
        }));
    }
    let mut all = Load::default();
    for client in clients {
        let load = client.await.expect("a load client");
        all.latencies.extend(load.latencies);
        for (status, n) in load.statuses {
            *all.statuses.entry(status).or_default() += n;
        }
        all.wrong += load.wrong;
        all.errors += load.errors;
        if all.first_wrong.is_none() {
            all.first_wrong = load.first_wrong;
        }
        if all.first_error.is_none() {
            all.first_error = load.first_error;
        }
    }
    all.elapsed = started.elapsed();
    all.latencies.sort();
    all
}

async fn connect(authority: &str) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {authority}: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}
