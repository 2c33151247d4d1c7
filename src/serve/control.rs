//! The daemon's control socket: a unix stream socket (default
//! [`DEFAULT_SOCKET`]), one request line per connection, one answer, then
//! the daemon closes it.
//!
//! Requests: `status`, `status-json`, `reload`. The answer to `reload`
//! starts with `ok` or `failed`, then the messages.
//!
//! Clients cannot stall the daemon: at most [`MAX_CLIENTS`] at a time
//! (others are closed at once), a request line of at most 256 bytes, and
//! 5 s to send it.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Where the daemon listens unless `--socket` says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/ipvsadm-rs/serve.sock";
pub const MAX_CLIENTS: usize = 16;
const MAX_LINE: usize = 256;

/// What a client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    StatusJson,
    Reload,
}

/// A request on its way to the event loop, with where the answer goes.
pub type Call = (Request, oneshot::Sender<String>);

/// Listen on `path` (replacing a stale socket). The error is the message.
pub fn listen(path: &Path) -> Result<UnixListener, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // A socket left by a daemon that died: nobody answers on it.
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(format!(
            "{}: another daemon is listening there",
            path.display()
        ));
    }
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
    Ok(l)
}

/// Accept clients forever, handing their requests to `calls`.
pub async fn serve(listener: UnixListener, calls: mpsc::Sender<Call>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let calls = calls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut line = Vec::with_capacity(32);
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                let mut b = [0u8; 64];
                loop {
                    let n = stream.read(&mut b).await.ok()?;
                    if n == 0 {
                        return Some(());
                    }
                    line.extend_from_slice(&b[..n]);
                    if line.contains(&b'\n') {
                        return Some(());
                    }
                    if line.len() > MAX_LINE {
                        return None;
                    }
                }
            })
            .await;
            if !matches!(read, Ok(Some(()))) {
                return;
            }
            let text = String::from_utf8_lossy(&line);
            let req = match text.trim() {
                "status" => Request::Status,
                "status-json" => Request::StatusJson,
                "reload" => Request::Reload,
                other => {
                    let _ = stream
                        .write_all(format!("failed\nunknown request `{other}`\n").as_bytes())
                        .await;
                    return;
                }
            };
            let (tx, rx) = oneshot::channel();
            if calls.send((req, tx)).await.is_err() {
                return;
            }
            if let Ok(answer) = rx.await {
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    stream.write_all(answer.as_bytes()),
                )
                .await;
            }
        });
    }
}

/// The client side (synchronous, no runtime): send `request`, return the
/// answer.
pub fn ask(path: &Path, request: &str, timeout: Duration) -> std::io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(request.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
