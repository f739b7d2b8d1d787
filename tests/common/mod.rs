//! A loopback HTTP server for the AWS tests and benchmarks: serves `service` on
//! 127.0.0.1 until the runtime ends.

use std::net::SocketAddr;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
