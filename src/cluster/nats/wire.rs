//! The NATS wire protocol for [`super::Client`] and [`super::PartitionReader`]: one TCP
//! connection with buffered halves, the `INFO`/`CONNECT`/`PING` handshake, `PUB`, and
//! reading `MSG`/`HMSG`/`PING`/`-ERR` with every length bounded. One wildcard subscription
//! (`_INBOX.<random>.*`, sid 1) receives all replies; each request gets its own token.

use super::NatsError;
use serde_json::{Value, json};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};

/// Longest control line (`INFO`, `MSG`, `-ERR`, …) accepted from the server, in bytes.
const MAX_CONTROL_LINE: usize = 256 * 1024;
/// Largest header block accepted on a message, on top of the payload bound.
const MAX_HEADERS: usize = 64 * 1024;

/// A message delivered to this connection's inbox subscription.
pub(super) struct Incoming {
    pub(super) subject: String,
    pub(super) reply: Option<String>,
    /// Status line of the header block (`NATS/1.0 408 Request Timeout`), if any.
    pub(super) status: Option<(u16, String)>,
    pub(super) payload: Vec<u8>,
}

enum Op {
    Info(Value),
    Msg(Incoming),
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// A blocking connection to one NATS server. Requests wait at most `timeout`.
pub(super) struct Connection {
    pub(super) addr: String,
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    pub(super) timeout: Duration,
    max_payload: usize,
    pub(super) inbox: String,
    /// The token of the last reply subject handed out.
    pub(super) last_token: u64,
    /// Set after an I/O or protocol error: the byte stream is out of step from then on.
    broken: Option<String>,
}

impl Connection {
    /// Connects to `addr` (`nats://host:port`, `host:port`, or `host` for port 4222): reads
    /// `INFO`, sends `CONNECT` (headers and no-responders on), confirms with `PING`, and
    /// subscribes to the inbox.
    pub(super) fn connect(addr: &str, timeout: Duration) -> Result<Connection, NatsError> {
        let timeout = timeout.min(Duration::from_secs(86_400));
        let host_port = addr
            .strip_prefix("nats://")
            .unwrap_or(addr)
            .trim_end_matches('/');
        let host_port = if host_port
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.contains(']'))
        {
            host_port.to_string()
        } else {
            format!("{host_port}:4222")
        };
        let context = format!("connecting to NATS server {host_port}");
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        let mut stream = None;
        for sock in host_port
            .to_socket_addrs()
            .map_err(|e| io_error(&context, e))?
        {
            match TcpStream::connect_timeout(&sock, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = stream.ok_or_else(|| io_error(&context, last))?;
        let setup = |s: &TcpStream| {
            s.set_nodelay(true)?;
            s.set_write_timeout(Some(timeout.max(Duration::from_millis(1))))?;
            s.try_clone()
        };
        let read_half = setup(&stream).map_err(|e| io_error(&context, e))?;
        let mut conn = Connection {
            addr: host_port,
            reader: BufReader::with_capacity(64 * 1024, read_half),
            writer: BufWriter::with_capacity(64 * 1024, stream),
            timeout,
            max_payload: 1024 * 1024,
            inbox: format!("_INBOX.{:016x}", random_u64()),
            last_token: 0,
            broken: None,
        };
        match conn.handshake() {
            Ok(()) => Ok(conn),
            Err(NatsError::Timeout) => Err(io_error(
                format!("NATS server {}", conn.addr),
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no INFO/PONG within {timeout:?}"),
                ),
            )),
            Err(e) => Err(e),
        }
    }

    fn handshake(&mut self) -> Result<(), NatsError> {
        let deadline = Instant::now() + self.timeout;
        if !self.wait_readable(deadline)? {
            return Err(NatsError::Timeout);
        }
        let Op::Info(info) = self.read_op_checked()? else {
            return Err(NatsError::Protocol(format!(
                "{} did not greet with INFO",
                self.addr
            )));
        };
        self.apply_info(&info);
        for (key, what) in [("tls_required", "TLS"), ("auth_required", "authentication")] {
            if info[key].as_bool() == Some(true) {
                return Err(NatsError::Protocol(format!(
                    "NATS server {} requires {what}, which this client does not support",
                    self.addr
                )));
            }
        }
        let connect = json!({"verbose": false, "pedantic": false, "headers": true,
            "no_responders": true, "protocol": 1, "lang": "rust", "name": "session-sigma",
            "version": env!("CARGO_PKG_VERSION")});
        self.write(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())?;
        self.flush()?;
        loop {
            if !self.wait_readable(deadline)? {
                return Err(NatsError::Timeout);
            }
            match self.read_op_checked()? {
                Op::Pong => break,
                Op::Ping => {
                    self.write(b"PONG\r\n")?;
                    self.flush()?;
                }
                Op::Info(info) => self.apply_info(&info),
                Op::Ok => {}
                Op::Msg(m) => {
                    return Err(self.protocol(format!("unexpected message on {}", m.subject)));
                }
                Op::Err(e) => return Err(self.protocol(format!("CONNECT refused: -ERR {e}"))),
            }
        }
        self.write(format!("SUB {}.* 1\r\n", self.inbox).as_bytes())?;
        self.flush()
    }

    fn apply_info(&mut self, info: &Value) {
        if let Some(max) = info["max_payload"].as_u64() {
            // The server caps max_payload at 64 MiB; never trust more than that.
            self.max_payload = usize::try_from(max.min(64 << 20)).unwrap_or(64 << 20);
        }
    }

    /// Sends a request with a fresh reply subject and waits for the reply; other messages
    /// arriving meanwhile go to `other`.
    pub(super) fn request(
        &mut self,
        subject: &str,
        body: &[u8],
        other: &mut OnOther,
    ) -> Result<Incoming, NatsError> {
        self.check()?;
        self.check_size(subject, body)?;
        let reply = self.next_reply();
        self.write_pub(subject, &reply, body)?;
        self.flush()?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.next_msg(deadline)? {
                None => return Err(NatsError::Timeout),
                Some(m) if m.subject == reply => return Ok(m),
                Some(m) => other(m)?,
            }
        }
    }

    /// A fresh reply subject; its token is then `last_token`.
    pub(super) fn next_reply(&mut self) -> String {
        self.last_token += 1;
        format!("{}.{}", self.inbox, self.last_token)
    }

    pub(super) fn check(&self) -> Result<(), NatsError> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(NatsError::Protocol(format!(
                "connection to {} is unusable after an earlier error: {why}",
                self.addr
            ))),
        }
    }

    pub(super) fn check_size(&self, subject: &str, payload: &[u8]) -> Result<(), NatsError> {
        if payload.len() > self.max_payload {
            return Err(NatsError::Protocol(format!(
                "payload of {} bytes for {subject} exceeds the max_payload of {} bytes of NATS server {}",
                payload.len(),
                self.max_payload,
                self.addr
            )));
        }
        Ok(())
    }

    fn protocol(&mut self, message: String) -> NatsError {
        let message = format!("{message} (NATS server {})", self.addr);
        self.broken.get_or_insert_with(|| message.clone());
        NatsError::Protocol(message)
    }

    pub(super) fn write_pub(
        &mut self,
        subject: &str,
        reply: &str,
        payload: &[u8],
    ) -> Result<(), NatsError> {
        self.write(format!("PUB {subject} {reply} {}\r\n", payload.len()).as_bytes())?;
        self.write(payload)?;
        self.write(b"\r\n")
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), NatsError> {
        let result = self.writer.write_all(bytes);
        self.io_result(result, "writing to")
    }

    pub(super) fn flush(&mut self) -> Result<(), NatsError> {
        let result = self.writer.flush();
        self.io_result(result, "writing to")
    }

    fn io_result<T>(&mut self, result: io::Result<T>, doing: &str) -> Result<T, NatsError> {
        result.map_err(|e| {
            let err = io_error(format!("{doing} NATS server {}", self.addr), e);
            self.broken.get_or_insert_with(|| err.to_string());
            err
        })
    }

    /// The next message for this connection, answering `PING`s on the way; `None` if
    /// nothing started to arrive by `deadline` (the socket is polled at least once).
    pub(super) fn next_msg(&mut self, deadline: Instant) -> Result<Option<Incoming>, NatsError> {
        self.check()?;
        loop {
            if !self.wait_readable(deadline)? {
                return Ok(None);
            }
            match self.read_op_checked()? {
                Op::Msg(m) => return Ok(Some(m)),
                Op::Ping => {
                    self.write(b"PONG\r\n")?;
                    self.flush()?;
                }
                Op::Info(info) => self.apply_info(&info),
                Op::Pong | Op::Ok => {}
                Op::Err(e) => return Err(self.protocol(format!("server error: -ERR {e}"))),
            }
        }
    }

    /// Waits until at least one byte is buffered. Only here may a read time out harmlessly:
    /// once an operation has started, the rest must come within the timeout.
    fn wait_readable(&mut self, deadline: Instant) -> Result<bool, NatsError> {
        loop {
            if !self.reader.buffer().is_empty() {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.max(Duration::from_millis(1));
            let set = self.reader.get_ref().set_read_timeout(Some(timeout));
            self.io_result(set, "reading from")?;
            match self.reader.fill_buf() {
                Ok([]) => {
                    let closed = io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed");
                    return self.io_result(Err(closed), "reading from");
                }
                Ok(_) => return Ok(true),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Ok(false);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.io_result(Err(e), "reading from"),
            }
        }
    }

    /// [`Connection::read_op`] with the rest of the operation due within the timeout; errors
    /// mark the connection broken.
    fn read_op_checked(&mut self) -> Result<Op, NatsError> {
        let timeout = self.timeout.max(Duration::from_millis(1));
        let set = self.reader.get_ref().set_read_timeout(Some(timeout));
        self.io_result(set, "reading from")?;
        match self.read_op() {
            Ok(op) => Ok(op),
            Err(NatsError::Protocol(m)) => Err(self.protocol(m)),
            Err(e) => {
                self.broken.get_or_insert_with(|| e.to_string());
                Err(e)
            }
        }
    }

    fn read_op(&mut self) -> Result<Op, NatsError> {
        let line = self.read_line()?;
        let line = std::str::from_utf8(&line)
            .map_err(|_| NatsError::Protocol("control line is not UTF-8".into()))?;
        let (verb, args) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        let args = args.trim();
        match verb {
            "MSG" | "HMSG" => self.read_msg(verb == "HMSG", args).map(Op::Msg),
            "PING" => Ok(Op::Ping),
            "PONG" => Ok(Op::Pong),
            "+OK" => Ok(Op::Ok),
            "-ERR" => Ok(Op::Err(args.trim_matches('\'').to_string())),
            "INFO" => serde_json::from_str(args)
                .map(Op::Info)
                .map_err(|e| NatsError::Protocol(format!("invalid INFO: {e}"))),
            _ => Err(NatsError::Protocol(format!(
                "unexpected line {:?}",
                cut(line)
            ))),
        }
    }

    /// Reads one CRLF-terminated control line, without the CRLF, of at most
    /// [`MAX_CONTROL_LINE`] bytes.
    fn read_line(&mut self) -> Result<Vec<u8>, NatsError> {
        let mut line = Vec::new();
        let limit = MAX_CONTROL_LINE as u64 + 2;
        let read = (&mut self.reader).take(limit).read_until(b'\n', &mut line);
        if self.io_result(read, "reading from")? == 0 {
            let closed = io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed");
            return self.io_result(Err(closed), "reading from");
        }
        if !line.ends_with(b"\r\n") {
            return Err(NatsError::Protocol(match line.len() {
                n if n as u64 >= limit => {
                    format!("control line longer than {MAX_CONTROL_LINE} bytes")
                }
                _ => format!(
                    "control line not ended by CRLF: {:?}",
                    cut(&String::from_utf8_lossy(&line))
                ),
            }));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    /// Reads the body of `MSG <subject> <sid> [reply] <bytes>` or
    /// `HMSG <subject> <sid> [reply] <header bytes> <total bytes>`.
    fn read_msg(&mut self, headers: bool, args: &str) -> Result<Incoming, NatsError> {
        let bad = || NatsError::Protocol(format!("malformed message line {:?}", cut(args)));
        let parts: Vec<&str> = args.split_ascii_whitespace().collect();
        let sizes = if headers { 2 } else { 1 };
        if parts.len() != 2 + sizes && parts.len() != 3 + sizes {
            return Err(bad());
        }
        let (fields, sizes) = parts.split_at(parts.len() - sizes);
        let sizes: Vec<usize> = sizes
            .iter()
            .map(|s| s.parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let (header_len, total) = match sizes[..] {
            [total] => (0, total),
            [header_len, total] if header_len <= total => (header_len, total),
            _ => return Err(bad()),
        };
        let limit = self
            .max_payload
            .saturating_mul(2)
            .saturating_add(MAX_HEADERS);
        if total > limit || header_len > MAX_HEADERS {
            return Err(NatsError::Protocol(format!(
                "message of {total} bytes on {} exceeds the client's limit of {limit} bytes",
                fields[0]
            )));
        }
        let mut data = vec![0; total + 2];
        let read = self.reader.read_exact(&mut data);
        self.io_result(read, "reading from")?;
        if !data.ends_with(b"\r\n") {
            return Err(NatsError::Protocol(format!(
                "message on {} not ended by CRLF",
                fields[0]
            )));
        }
        data.truncate(total);
        let status = if headers {
            parse_status(&data[..header_len])?
        } else {
            None
        };
        Ok(Incoming {
            subject: fields[0].to_string(),
            reply: fields.get(2).map(|r| r.to_string()),
            status,
            payload: data.split_off(header_len),
        })
    }
}

fn io_error(context: impl fmt::Display, e: io::Error) -> NatsError {
    NatsError::Io(io::Error::new(e.kind(), format!("{context}: {e}")))
}

pub(super) type OnOther<'a> = dyn FnMut(Incoming) -> Result<(), NatsError> + 'a;

pub(super) fn ignore(_: Incoming) -> Result<(), NatsError> {
    Ok(())
}

/// Shortens text quoted in an error message.
pub(super) fn cut(text: &str) -> &str {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The status of a header block: `NATS/1.0 408 Request Timeout` → `(408, "Request Timeout")`.
fn parse_status(headers: &[u8]) -> Result<Option<(u16, String)>, NatsError> {
    let first = headers.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let first = first.trim_end();
    let Some(rest) = first.strip_prefix("NATS/1.0") else {
        return Err(NatsError::Protocol(format!(
            "header block starts with {:?}",
            cut(first)
        )));
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(None);
    }
    let (code, description) = rest.split_once(' ').unwrap_or((rest, ""));
    let code = code
        .parse()
        .map_err(|_| NatsError::Protocol(format!("invalid status line {:?}", cut(first))))?;
    Ok(Some((code, description.trim().to_string())))
}

/// The reply token of a message on the inbox `<inbox>.<token>`.
pub(super) fn token_of(subject: &str, inbox: &str) -> Option<u64> {
    subject.strip_prefix(inbox)?.strip_prefix('.')?.parse().ok()
}

fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    hasher.write_u128(now.map(|d| d.as_nanos()).unwrap_or_default());
    hasher.finish()
}
