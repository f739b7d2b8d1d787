//! A loopback HTTP server for the AWS tests and benchmarks: serves `service` on
//! 127.0.0.1 until the runtime ends.

use std::net::SocketAddr;

#[allow(dead_code)] // not every test binary that includes this module serves
type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[allow(dead_code)]
pub async fn serve_loopback<S, B>(service: S) -> SocketAddr
where
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            // Without it, delayed ACKs stall every small response by 40 ms on loopback.
            let _ = sock.set_nodelay(true);
            let svc = service.clone();
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    addr
}

/// `trailtop scan` as a user runs it: credentials from the environment (no config files, no
/// instance metadata, no region unless the arguments give one) and the data dir in `data`.
#[allow(dead_code)] // not every test binary that includes this module runs the CLI
pub fn trailtop_scan(data: &std::path::Path, key: &str, secret: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trailtop"));
    cmd.arg("scan")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TRAILTOP_DATA_DIR", data);
    cmd
}

/// `../shared/REL` when it exists; otherwise says the test skipped, and in CI (`CI=true`),
/// where the folder must exist, fails.
#[allow(dead_code)]
pub fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(rel);
    if p.exists() {
        return Some(p);
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{} is absent: CI must have it", p.display());
    eprintln!("skipped: {} is absent (it exists on the team's machines and in CI)", p.display());
    None
}
