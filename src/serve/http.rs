//! `--listen ADDR:PORT`: the daemon's read-only HTTP endpoint (hyper,
//! HTTP/1.1): `GET /metrics` is one Prometheus scrape of the tables with
//! health ([`crate::format::metrics`]), `GET /` the status page
//! ([`super::page`], [`crate::format::html`]); every other path is 404,
//! every other method 405. No control action is reachable over HTTP.
//!
//! Clients cannot stall the daemon: at most [`MAX_CONNECTIONS`] at a time
//! (others are closed at once), requests of at most 16 KiB, 30 s per
//! connection; scrapes are answered by the event loop between checks
//! (a `/metrics` scrape is rendered on a blocking thread and streamed).

use hyper::body::{Body, Bytes, Frame};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

pub const MAX_CONNECTIONS: usize = 64;

/// What a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// `/metrics`.
    Metrics,
    /// `/`, the status page.
    Page,
}

/// A request answered by the event loop from one read of the table.
pub struct Scrape {
    pub want: Want,
    pub reply: oneshot::Sender<Answer>,
}

/// The event loop's answer: the whole text, or its pieces as they are
/// written (a scrape of 100 000 real servers is 140 MB: it is rendered
/// beside the event loop and sent as it comes, never held whole).
pub enum Answer {
    Whole(String),
    Pieces(mpsc::Receiver<Bytes>),
}

/// `PORT` alone means localhost.
pub fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = v.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    v.parse().map_err(|_| {
        format!("--listen takes PORT or ADDRESS:PORT ([ADDRESS]:PORT for IPv6), not `{v}`")
    })
}

/// Bind now, so that an address in use is an error at start.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        let why = e
            .raw_os_error()
            .map_or_else(|| e.to_string(), |n| crate::error::Errno(n).strerror());
        format!("cannot listen on {addr}: {why}")
    })
}

/// A response body: one piece, or pieces from a channel (sent chunked;
/// the channel's end is the body's end).
enum Reply {
    One(Option<Bytes>),
    Pieces(mpsc::Receiver<Bytes>),
}

impl Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut *self {
            Reply::One(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Reply::Pieces(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Reply::One(None))
    }

    /// Exact for one piece: hyper sends a Content-Length, not chunks.
    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Reply::One(b) => {
                hyper::body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            Reply::Pieces(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// tokio's stream as hyper's I/O.
struct Io(TcpStream);

impl Read for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        // SAFETY: tokio's ReadBuf only writes initialised bytes into the
        // unfilled part it was given, and reports how many it filled.
        let n = unsafe {
            let mut tb = ReadBuf::uninit(buf.as_mut());
            match Pin::new(&mut self.0).poll_read(cx, &mut tb) {
                Poll::Ready(Ok(())) => tb.filled().len(),
                other => return other,
            }
        };
        // SAFETY: `n` bytes were initialised just above.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl Write for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    // Vectored: hyper then sends a body from its own buffer (with the head
    // and chunk framing beside it) instead of copying it into one (a scrape
    // of 100 000 real servers is some 370 MB).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

fn respond(status: StatusCode, ctype: &str, body: String) -> Response<Reply> {
    respond_with(status, ctype, Reply::One(Some(Bytes::from(body))))
}

fn respond_with(status: StatusCode, ctype: &str, body: Reply) -> Response<Reply> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = ctype.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    scrapes: mpsc::Sender<Scrape>,
) -> Response<Reply> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "read-only: GET or HEAD\n".into(),
        );
    }
    let (want, ctype) = match req.uri().path() {
        "/metrics" => (Want::Metrics, "text/plain; version=0.0.4; charset=utf-8"),
        "/" => (Want::Page, "text/html; charset=utf-8"),
        _ => {
            return respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found (try / or /metrics)\n".into(),
            )
        }
    };
    let (tx, rx) = oneshot::channel();
    if scrapes.send(Scrape { want, reply: tx }).await.is_err() {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "stopping\n".into(),
        );
    }
    let Ok(answer) = rx.await else {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "the table could not be read\n".into(),
        );
    };
    let body = match answer {
        Answer::Whole(text) => Reply::One(Some(Bytes::from(text))),
        Answer::Pieces(rx) => Reply::Pieces(rx),
    };
    let mut r = respond_with(StatusCode::OK, ctype, body);
    if want == Want::Page {
        // Inline style only; nothing else may load.
        for (k, v) in [
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
            (
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ] {
            r.headers_mut()
                .insert(k, hyper::header::HeaderValue::from_static(v));
        }
    }
    r
}

/// Accept clients forever.
pub async fn serve(listener: TcpListener, scrapes: mpsc::Sender<Scrape>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let scrapes = scrapes.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = hyper::service::service_fn(move |req| {
                let scrapes = scrapes.clone();
                async move { Ok::<_, Infallible>(handle(req, scrapes).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .max_buf_size(16 * 1024)
                .serve_connection(Io(stream), svc);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}
