//! A small synchronous NATS JetStream client: what `cluster` mode needs to load
//! key-partitioned session events into a stream and read each partition back in order.
//!
//! Why not `async-nats`: the engine and the timely workers are synchronous threads. A
//! blocking client of a few hundred lines over [`std::net::TcpStream`] avoids bringing an
//! async runtime into every worker. It speaks the NATS text protocol
//! (<https://docs.nats.io/reference/reference-protocols/nats-protocol>) and the JetStream
//! JSON API (bodies via `serde_json`), and was tested against `nats-server` 2.9.10.
//!
//! Layout: one stream per input, with one subject per partition, `<stream>.p.<n>`
//! ([`Client::ensure_stream`]). A producer sends each event to partition
//! [`partition_of`]`(key, P)` ([`Client::publish`], [`Client::publish_batch`]); a worker
//! reads its partitions with a [`PartitionReader`] from a stream sequence (its resume
//! offset), so partition order is stream order and restarts are exact.
//!
//! Not supported: TLS, authentication, reconnecting, and cluster failover. Any I/O or
//! protocol error leaves the connection unusable (later calls fail at once); the caller
//! reconnects and resumes from its last offset. Everything read from the server is bounded:
//! control lines to 256 KiB, messages by twice the server's `max_payload`
//! (JetStream replies such as a fetched message in base64 can exceed it) plus headers.

#[cfg(test)]
mod tests;
mod wire;

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};
use wire::{Connection, Incoming, OnOther, cut, ignore, token_of};

/// [`Client::publish_batch`] sends publishes in windows of this many, with at most
/// `IN_FLIGHT` unacknowledged.
const PUBLISH_WINDOW: usize = 256;
const IN_FLIGHT: usize = 1024;
/// Connect and request timeout of a [`PartitionReader`].
const READER_TIMEOUT: Duration = Duration::from_secs(10);
/// A reader's consumer is deleted by the server after this long without pull requests; the
/// reader recreates it at its next sequence if it was (e.g. after a long pause).
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(120);
/// Pull requests that got no terminal status for this long after the first of them expired
/// mean the consumer may be gone (the server answers nothing then): it is checked.
const LOST_AFTER: Duration = Duration::from_secs(2);
/// A pull request with no terminal status this long after it expired is given up and asked
/// again (its status may be late under load, or lost): a reader never waits on a dead one.
const GRACE: Duration = Duration::from_millis(200);
/// Longest wait of one [`PartitionReader::fetch`].
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// An error of the NATS client. Every message names the server, stream or subject involved.
#[derive(Debug)]
#[non_exhaustive]
pub enum NatsError {
    /// Connecting, reading or writing failed, e.g. `connecting to NATS server
    /// 127.0.0.1:4222: Connection refused`. The kind is the underlying one.
    Io(io::Error),
    /// The server sent something malformed or unexpected, answered `-ERR`, or a request
    /// cannot be sent (invalid stream name, payload larger than the server's `max_payload`).
    Protocol(String),
    /// JetStream refused a request or publish: `code` is its HTTP-like status (400, 404,
    /// 503), `description` names the API subject and the server's reason.
    Api {
        /// Status code, e.g. 404 for `stream not found`.
        code: u16,
        /// The subject of the request, the server's description and its `err_code`.
        description: String,
    },
    /// No reply to a request within the client's timeout.
    Timeout,
}

impl fmt::Display for NatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatsError::Io(e) => write!(f, "NATS I/O error: {e}"),
            NatsError::Protocol(m) => write!(f, "NATS protocol error: {m}"),
            NatsError::Api { code, description } => {
                write!(f, "JetStream error {code}: {description}")
            }
            NatsError::Timeout => write!(f, "timed out waiting for a reply from NATS"),
        }
    }
}

impl std::error::Error for NatsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NatsError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Stable partition of a key: FNV-1a 64 of the key bytes, modulo `partitions` (0 is read
/// as 1). It depends only on the bytes, never on the platform, the process or the crate
/// version, so producers and workers on any machine agree; changing it would re-partition
/// every stream, so it must stay as it is.
pub fn partition_of(key: &[u8], partitions: u32) -> u32 {
    // The remainder is below `partitions`, so it fits in a u32.
    (fnv1a64(key) % u64::from(partitions.max(1))) as u32
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Stream names are restricted to what is safe both as a stream name and as a subject token.
fn check_stream_name(stream: &str) -> Result<(), NatsError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if stream.is_empty() || stream.len() > 200 || !stream.chars().all(ok) {
        return Err(NatsError::Protocol(format!(
            "invalid stream name {stream:?}: use 1 to 200 ASCII letters, digits, '-' or '_'"
        )));
    }
    Ok(())
}

fn partition_subject(stream: &str, partition: u32) -> String {
    format!("{stream}.p.{partition}")
}

/// A blocking connection to one NATS server, with one wildcard inbox subscription
/// (`_INBOX.<random>.*`) for replies. Requests wait at most the timeout given to
/// [`Client::connect`].
pub struct Client {
    conn: Connection,
}

impl Client {
    /// Connects to `addr` (`nats://host:port`, `host:port`, or `host` for port 4222): reads
    /// `INFO`, sends `CONNECT` (headers and no-responders on) and confirms with `PING`.
    /// `timeout` bounds connecting and every later request.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client, NatsError> {
        Connection::connect(addr, timeout).map(|conn| Client { conn })
    }

    /// Creates the stream if absent, with subjects `["<stream>.p.*"]` (one subject per
    /// partition) and file storage. Succeeds if the stream already exists with exactly
    /// these subjects, whatever its other settings.
    pub fn ensure_stream(&mut self, stream: &str) -> Result<(), NatsError> {
        check_stream_name(stream)?;
        let subjects = json!([format!("{stream}.p.*")]);
        let config = json!({"name": stream, "subjects": subjects, "storage": "file",
            "retention": "limits", "discard": "old", "num_replicas": 1});
        let api = format!("$JS.API.STREAM.CREATE.{stream}");
        let reply = js_api(
            &mut self.conn,
            &api,
            config.to_string().as_bytes(),
            &mut ignore,
        )?;
        match reply_error(&api, &reply) {
            None => Ok(()),
            // "stream name already in use with a different configuration"
            Some((10058, err)) => {
                let api = format!("$JS.API.STREAM.INFO.{stream}");
                let info = js_api(&mut self.conn, &api, b"", &mut ignore)?;
                if let Some((_, err)) = reply_error(&api, &info) {
                    return Err(err);
                }
                if info["config"]["subjects"] == subjects {
                    Ok(())
                } else {
                    Err(NatsError::Api {
                        code: 400,
                        description: format!(
                            "stream {stream} exists with subjects {} instead of {subjects} ({err})",
                            info["config"]["subjects"]
                        ),
                    })
                }
            }
            Some((_, err)) => Err(err),
        }
    }

    /// Publishes one payload to `<stream>.p.<partition>` and waits for the JetStream ack;
    /// returns the stream sequence it was stored at.
    pub fn publish(
        &mut self,
        stream: &str,
        partition: u32,
        payload: &[u8],
    ) -> Result<u64, NatsError> {
        check_stream_name(stream)?;
        let subject = partition_subject(stream, partition);
        let ack = self.conn.request(&subject, payload, &mut ignore)?;
        pub_ack(stream, &subject, &ack)
    }

    /// Publishes many payloads to `<stream>.p.<partition>`, in order, pipelined: windows
    /// of publishes are sent while the acks of earlier ones come back. All payload sizes
    /// are checked before anything is sent; after a refused publish no further window is
    /// sent, but earlier payloads (and some of the same window) may have been stored.
    pub fn publish_batch(
        &mut self,
        stream: &str,
        partition: u32,
        payloads: &[&[u8]],
    ) -> Result<(), NatsError> {
        check_stream_name(stream)?;
        self.conn.check()?;
        let subject = partition_subject(stream, partition);
        for payload in payloads {
            self.conn.check_size(&subject, payload)?;
        }
        // Windows are sent while the acks of up to IN_FLIGHT earlier publishes are due.
        let first = self.conn.last_token;
        let (mut sent, mut acked, mut failure) = (0, 0, None);
        let mut windows = payloads.chunks(PUBLISH_WINDOW);
        while acked < payloads.len() {
            if failure.is_none() && sent - acked + PUBLISH_WINDOW <= IN_FLIGHT {
                if let Some(window) = windows.next() {
                    for payload in window {
                        let reply = self.conn.next_reply();
                        self.conn.write_pub(&subject, &reply, payload)?;
                    }
                    self.conn.flush()?;
                    sent += window.len();
                    continue;
                }
            }
            if acked == sent {
                break; // stopped sending after a failure
            }
            let deadline = Instant::now() + self.conn.timeout;
            let Some(m) = self.conn.next_msg(deadline)? else {
                return Err(NatsError::Timeout);
            };
            if token_of(&m.subject, &self.conn.inbox).is_some_and(|t| t > first) {
                acked += 1;
                if let Err(e) = pub_ack(stream, &subject, &m) {
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The last stream sequence stored on `<stream>.p.<partition>`, or 0 if there is none.
    pub fn last_seq(&mut self, stream: &str, partition: u32) -> Result<u64, NatsError> {
        check_stream_name(stream)?;
        let api = format!("$JS.API.STREAM.MSG.GET.{stream}");
        let body = json!({"last_by_subj": partition_subject(stream, partition)});
        let reply = js_api(
            &mut self.conn,
            &api,
            body.to_string().as_bytes(),
            &mut ignore,
        )?;
        match reply_error(&api, &reply) {
            None => reply["message"]["seq"].as_u64().ok_or_else(|| {
                NatsError::Protocol(format!(
                    "{api}: reply without message.seq from {}",
                    self.conn.addr
                ))
            }),
            Some((10037, _)) => Ok(0), // "no message found"
            Some((_, err)) => Err(err),
        }
    }
}

/// A JetStream API request: the JSON reply, which may hold an `error` object.
fn js_api(
    conn: &mut Connection,
    subject: &str,
    body: &[u8],
    other: &mut OnOther,
) -> Result<Value, NatsError> {
    let reply = conn.request(subject, body, other)?;
    if let Some((code, description)) = reply.status {
        let description = match code {
            503 => format!(
                "{subject}: no responders (is JetStream enabled on {}?)",
                conn.addr
            ),
            _ => format!("{subject}: {description}"),
        };
        return Err(NatsError::Api { code, description });
    }
    serde_json::from_slice(&reply.payload).map_err(|e| {
        NatsError::Protocol(format!(
            "{subject}: invalid JSON reply from {}: {e}",
            conn.addr
        ))
    })
}

/// The `error` object of a JetStream API reply, as its `err_code` and an [`NatsError::Api`].
fn reply_error(api: &str, reply: &Value) -> Option<(u64, NatsError)> {
    let error = reply.get("error")?;
    let err_code = error["err_code"].as_u64().unwrap_or(0);
    let description = error["description"].as_str().unwrap_or("unknown error");
    let code = error["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let description = format!("{api}: {description} (err_code {err_code})");
    Some((err_code, NatsError::Api { code, description }))
}

/// The stream sequence of a JetStream publish ack, `{"stream":"EV","seq":42}`.
fn pub_ack(stream: &str, subject: &str, ack: &Incoming) -> Result<u64, NatsError> {
    if let Some((code, description)) = &ack.status {
        let description = match code {
            503 => format!(
                "publishing to {subject}: no stream stores this subject (ensure_stream first)"
            ),
            _ => format!("publishing to {subject}: {description}"),
        };
        return Err(NatsError::Api {
            code: *code,
            description,
        });
    }
    let value: Value = serde_json::from_slice(&ack.payload)
        .map_err(|e| NatsError::Protocol(format!("publishing to {subject}: invalid ack: {e}")))?;
    if let Some((_, err)) = reply_error(&format!("publishing to {subject}"), &value) {
        return Err(err);
    }
    if value["stream"] != stream {
        return Err(NatsError::Protocol(format!(
            "publishing to {subject}: stored by stream {} instead of {stream}",
            value["stream"]
        )));
    }
    value["seq"]
        .as_u64()
        .ok_or_else(|| NatsError::Protocol(format!("publishing to {subject}: ack without seq")))
}

/// Stream sequence and pending count from a delivery's ack subject: v1
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>` or v2 with
/// `<domain>.<account>` after `ACK` and a trailing token.
fn parse_ack(reply: &str) -> Option<(u64, u64)> {
    let tokens: Vec<&str> = reply.split('.').collect();
    let (seq, pending) = match tokens.len() {
        9 => (tokens[5], tokens[8]),
        n if n >= 12 => (tokens[7], tokens[10]),
        _ => return None,
    };
    Some((seq.parse().ok()?, pending.parse().ok()?))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Reads one partition in stream order, from a start sequence: an ephemeral pull consumer
/// on `<stream>.p.<n>` (no acks; deleted by the server after two minutes without
/// requests, and then recreated at the next sequence), fetched in batches.
pub struct PartitionReader {
    conn: Connection,
    stream: String,
    subject: String,
    consumer: String,
    flow: Flow,
}

/// What has been delivered and what is being waited for.
struct Flow {
    buffer: VecDeque<(u64, Vec<u8>)>,
    /// The next stream sequence to deliver: where a recreated consumer starts; anything
    /// below it is a duplicate and dropped.
    next_seq: u64,
    /// The last delivery said nothing more was pending.
    caught_up: bool,
    live: Option<Pull>,
    consumer_lost: bool,
    /// When the first of the pull requests that ended without any answer expired.
    silent_since: Option<Instant>,
}

/// The one pull request that may be outstanding.
struct Pull {
    token: u64,
    remaining: usize,
    no_wait: bool,
    expires_at: Instant,
}

impl PartitionReader {
    /// Connects to `addr` (as [`Client::connect`], with a 10 s timeout) and opens partition
    /// `partition` of `stream` at stream sequence `start_seq` (the first to read; 0 is read
    /// as 1). Messages of the partition from `start_seq` on are delivered in stream order,
    /// whether already stored or published later. The stream must exist.
    pub fn open(
        addr: &str,
        stream: &str,
        partition: u32,
        start_seq: u64,
    ) -> Result<PartitionReader, NatsError> {
        check_stream_name(stream)?;
        let mut reader = PartitionReader {
            conn: Connection::connect(addr, READER_TIMEOUT)?,
            stream: stream.to_string(),
            subject: partition_subject(stream, partition),
            consumer: String::new(),
            flow: Flow {
                buffer: VecDeque::new(),
                next_seq: start_seq.max(1),
                caught_up: false,
                live: None,
                consumer_lost: false,
                silent_since: None,
            },
        };
        reader.create_consumer()?;
        Ok(reader)
    }

    /// Appends up to `max` messages as `(stream sequence, payload)` to `out`, waiting at
    /// most `wait` (capped at an hour) for the first one, and returns how many it appended:
    /// 0 means nothing arrived within `wait`. Once one message is in hand it returns as
    /// soon as the server reports nothing more pending. Sequences strictly increase across
    /// calls. The server's end-of-request statuses (404 No Messages, 408 Request Timeout,
    /// 409) mean "nothing now"; if the consumer vanished (deleted, or idle for two
    /// minutes) it is recreated at the next sequence, which can cost one empty call.
    pub fn fetch(
        &mut self,
        max: usize,
        wait: Duration,
        out: &mut Vec<(u64, Vec<u8>)>,
    ) -> Result<usize, NatsError> {
        self.conn.check()?;
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        let (mut got, mut asked, mut recreated) = (0, false, false);
        while got < max {
            while got < max {
                let Some(message) = self.flow.buffer.pop_front() else {
                    break;
                };
                out.push(message);
                got += 1;
            }
            if got == max || (got > 0 && self.flow.caught_up) {
                break;
            }
            if self.flow.consumer_lost {
                if recreated {
                    return Err(NatsError::Protocol(format!(
                        "consumer on {} vanished twice",
                        self.subject
                    )));
                }
                self.create_consumer()?;
                recreated = true;
            }
            let now = Instant::now();
            if let Some(p) = self
                .flow
                .live
                .as_ref()
                .filter(|p| now > p.expires_at + GRACE)
            {
                // No end-of-request status: ask again; after LOST_AFTER of silence, check
                // that the consumer still exists.
                let since = *self.flow.silent_since.get_or_insert(p.expires_at);
                self.flow.live = None;
                if now > since + LOST_AFTER {
                    self.flow.silent_since = None;
                    self.check_consumer()?;
                }
                continue;
            }
            if self.flow.live.is_none() {
                // One request per call once something is in hand or the wait is over.
                if asked && (got > 0 || now >= deadline) {
                    break;
                }
                // Once something is in hand, take only what is already there.
                let wait = match got {
                    0 => deadline.saturating_duration_since(now),
                    _ => Duration::ZERO,
                };
                self.pull(max - got, wait)?;
                asked = true;
            }
            // Wait for the request's end (a prompt one's too, past the call's deadline).
            let prompt = got > 0 || self.flow.live.as_ref().is_some_and(|p| p.no_wait);
            let end = self
                .flow
                .live
                .as_ref()
                .map_or(deadline, |p| p.expires_at + GRACE);
            let until = if prompt { end } else { end.min(deadline) };
            match self.conn.next_msg(until)? {
                Some(m) => self.flow.accept(m, &self.conn.inbox)?,
                None => break,
            }
        }
        Ok(got)
    }

    fn pull(&mut self, batch: usize, wait: Duration) -> Result<(), NatsError> {
        let no_wait = wait < Duration::from_millis(1);
        let body = match no_wait {
            true => json!({"batch": batch, "no_wait": true}),
            false => json!({"batch": batch, "expires": nanos(wait)}),
        };
        let api = format!(
            "$JS.API.CONSUMER.MSG.NEXT.{}.{}",
            self.stream, self.consumer
        );
        let reply = self.conn.next_reply();
        self.conn
            .write_pub(&api, &reply, body.to_string().as_bytes())?;
        self.conn.flush()?;
        self.flow.live = Some(Pull {
            token: self.conn.last_token,
            remaining: batch,
            no_wait,
            expires_at: Instant::now() + wait,
        });
        Ok(())
    }

    fn create_consumer(&mut self) -> Result<(), NatsError> {
        let api = format!("$JS.API.CONSUMER.CREATE.{}", self.stream);
        let body = json!({"stream_name": self.stream, "config": {
            "filter_subject": self.subject, "deliver_policy": "by_start_sequence",
            "opt_start_seq": self.flow.next_seq, "ack_policy": "none", "replay_policy": "instant",
            "inactive_threshold": nanos(INACTIVE_THRESHOLD), "mem_storage": true}});
        let (flow, inbox) = (&mut self.flow, self.conn.inbox.clone());
        let mut other = |m| flow.accept(m, &inbox);
        let reply = js_api(
            &mut self.conn,
            &api,
            body.to_string().as_bytes(),
            &mut other,
        )?;
        if let Some((_, err)) = reply_error(&api, &reply) {
            return Err(err);
        }
        let Some(name) = reply["name"].as_str() else {
            return Err(NatsError::Protocol(format!(
                "{api}: reply without a consumer name"
            )));
        };
        self.consumer = name.to_string();
        self.flow.live = None;
        self.flow.caught_up = false;
        self.flow.consumer_lost = false;
        Ok(())
    }

    fn check_consumer(&mut self) -> Result<(), NatsError> {
        let api = format!("$JS.API.CONSUMER.INFO.{}.{}", self.stream, self.consumer);
        let (flow, inbox) = (&mut self.flow, self.conn.inbox.clone());
        let reply = js_api(&mut self.conn, &api, b"", &mut |m| flow.accept(m, &inbox))?;
        match reply_error(&api, &reply) {
            None => Ok(()),
            Some((10014, _)) => {
                // "consumer not found"
                self.flow.consumer_lost = true;
                Ok(())
            }
            Some((_, err)) => Err(err),
        }
    }
}

impl Drop for PartitionReader {
    /// Deletes the consumer, waiting at most a second (the server would delete it after
    /// two minutes anyway).
    fn drop(&mut self) {
        if self.conn.check().is_ok() {
            self.conn.timeout = self.conn.timeout.min(Duration::from_secs(1));
            let api = format!("$JS.API.CONSUMER.DELETE.{}.{}", self.stream, self.consumer);
            let _ = js_api(&mut self.conn, &api, b"", &mut ignore);
        }
    }
}

impl Flow {
    /// Takes a message that arrived on the reader's connection: a delivery (reply subject
    /// `$JS.ACK.…`) or the status ending a pull request. Anything else is a stale reply.
    fn accept(&mut self, m: Incoming, inbox: &str) -> Result<(), NatsError> {
        if let Some(ack) = m.reply.as_deref().filter(|r| r.starts_with("$JS.ACK.")) {
            let Some((seq, pending)) = parse_ack(ack) else {
                return Err(NatsError::Protocol(format!(
                    "malformed ack subject {:?}",
                    cut(ack)
                )));
            };
            self.silent_since = None;
            if let Some(pull) = &mut self.live {
                pull.remaining = pull.remaining.saturating_sub(1);
                if pull.remaining == 0 {
                    self.live = None;
                }
            }
            if seq >= self.next_seq {
                self.buffer.push_back((seq, m.payload));
                self.next_seq = seq + 1;
            }
            self.caught_up = pending == 0;
            return Ok(());
        }
        let live = self.live.as_ref().map(|p| p.token);
        if let Some((code, description)) = &m.status {
            if live.is_some() && token_of(&m.subject, inbox) == live {
                // 404 No Messages, 408 Request Timeout, 409 (leadership change, limits):
                // nothing now. A deleted consumer is recreated by the next fetch.
                self.live = None;
                self.silent_since = None;
                self.consumer_lost = *code == 503 || description.contains("Consumer Deleted");
            }
        }
        Ok(())
    }
}
