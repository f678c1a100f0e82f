//! An RFC 3161 time-stamp responder inside the test process, signing with whatever key and
//! certificate it is given. `vanthu tsa` (and `openssl ts -reply`) refuse a certificate without
//! the timeStamping extended key usage; this one does not, so tests can check that the
//! signer and the verifier refuse such tokens themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use vanthu_pades::tsa::{Authority, REPLY_MEDIA_TYPE};

/// A responder on a free local port; stopped when dropped.
pub struct InProcessTsa {
    /// `http://127.0.0.1:<port>/`.
    pub url: String,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl InProcessTsa {
    /// Signs tokens with `key` and `cert` (PEM), sending `chain` (PEM) along.
    pub fn start(cert: &Path, key: &Path, chain: Option<&Path>) -> InProcessTsa {
        let authority = Authority::from_pem_files(cert, key, chain)
            .unwrap_or_else(|e| panic!("test TSA with {}: {e}", cert.display()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().expect("bound address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // A broken client connection is the client's failure to report.
                    let _ = answer(&authority, stream);
                }
            }
        });
        InProcessTsa {
            url: format!("http://127.0.0.1:{port}/"),
            stop,
            port,
            thread: Some(thread),
        }
    }
}

/// Reads one HTTP request (its body is the DER time-stamp query) and writes the reply.
fn answer(authority: &Authority, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut query = vec![0u8; length];
    reader.read_exact(&mut query)?;
    let reply = authority.respond(&query);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {REPLY_MEDIA_TYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        reply.len()
    )?;
    stream.write_all(&reply)?;
    stream.flush()
}

impl Drop for InProcessTsa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
