//! What the S3 and LookupEvents sources share: options, the SDK configuration with the
//! standard credential chain, retry settings, and readable errors.

use std::path::PathBuf;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// How AWS sources connect and what they read.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// An S3-compatible server or a test endpoint; S3 then uses path-style addressing.
    pub endpoint_url: Option<String>,
    /// How far back to back-fill, in seconds.
    pub since: i64,
    /// How often to poll once the back-fill is done.
    pub poll: Duration,
    /// Ignore the saved checkpoint and read everything in range again.
    pub from_scratch: bool,
    /// Where checkpoints live; `None` keeps them in memory only.
    pub state_dir: Option<PathBuf>,
    /// Attempts per request, throttling and 5xx included (the SDK backs off between them).
    pub max_attempts: u32,
    /// The first backoff after a throttle or 5xx.
    pub initial_backoff: Duration,
    /// A plain S3 GET whose body sends nothing for this long has stalled (the SDK then fetches).
    pub stall: Duration,
    /// Pages one paginated call follows before it stops (LookupEvents picks up the rest of
    /// its window at once; a listing reports it): a server that hands out tokens forever must
    /// not hold a source for good.
    pub max_pages: usize,
}

impl Default for AwsOptions {
    fn default() -> Self {
        Self {
            region: None,
            profile: None,
            endpoint_url: None,
            since: 24 * 3600,
            poll: Duration::from_secs(60),
            from_scratch: false,
            state_dir: None,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            stall: Duration::from_secs(30),
            max_pages: 2_000,
        }
    }
}

/// Runs an AWS source's future on a runtime of its own with `workers` threads (at least two,
/// so that one can parse while the other keeps requests moving); a runtime that cannot start
/// is reported as the source's status.
pub fn run_on_runtime<F: std::future::Future<Output = ()>>(
    id: usize,
    tx: &crossbeam_channel::Sender<super::SourceMsg>,
    workers: usize,
    fut: impl FnOnce() -> F,
) {
    let workers = workers.max(2);
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("trailtop-aws")
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut()),
        Err(e) => {
            let _ = tx.send(super::SourceMsg::Status {
                source: id,
                status: super::SourceStatus::Degraded(format!("no runtime: {e}")),
            });
        }
    }
}

/// The SDK configuration: environment, profiles, SSO, instance and container roles.
pub async fn sdk_config(opts: &AwsOptions, region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard().with_max_attempts(opts.max_attempts).with_initial_backoff(opts.initial_backoff),
        )
        .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(Duration::from_secs(30)).build());
    if let Some(r) = region.map(str::to_owned).or_else(|| opts.region.clone()) {
        loader = loader.region(aws_config::Region::new(r));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Error codes that mean "try again later".
fn transient(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "SlowDown"
                | "ServiceUnavailable"
                | "InternalError"
                | "RequestTimeout"
                | "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
        )
    )
}

/// Runs `op`, and again after 0.5, 1 and 2 s while it fails with a transient code. The SDK
/// retries on its own too, but gives up on a run of `SlowDown`s sooner than a back-fill should.
pub async fn persist<T, E, F, Fut>(mut op: F) -> Result<T, aws_sdk_s3::error::SdkError<E>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, aws_sdk_s3::error::SdkError<E>>>,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    let mut wait = Duration::from_millis(500);
    for _ in 0..3 {
        match op().await {
            Err(e) if transient(e.code()) => {
                tracing::debug!("transient {:?}; again in {wait:?}", e.code());
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            other => return other,
        }
    }
    op().await
}

/// The region S3 says a bucket is in, from the header it adds to answers about the bucket,
/// errors included.
pub fn bucket_region_in<E>(err: &aws_sdk_s3::error::SdkError<E>) -> Option<&str> {
    err.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region"))
}

/// The SDK's own HTTPS client (hyper, rustls) as a connector for requests made by hand (plain
/// S3 GETs, alert webhooks): 10 s to connect, 30 s between reads. Call it on a Tokio runtime.
pub fn http_connector() -> Option<aws_smithy_runtime_api::client::http::SharedHttpConnector> {
    let settings = aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .build();
    let sleep = aws_smithy_async::rt::sleep::SharedAsyncSleep::new(aws_smithy_async::rt::sleep::TokioSleep::new());
    aws_smithy_http_client::default_connector(&settings, Some(sleep))
}

/// A warning when `--endpoint-url` sends signed requests, and the logs they fetch, over plain
/// HTTP to anything but this machine.
pub fn endpoint_warning(endpoint: Option<&str>) -> Option<String> {
    let url = endpoint?;
    let rest = url.strip_prefix("http://")?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| format!("--endpoint-url {url} is plain HTTP to another machine: the signed requests and the logs they fetch cross the network in the clear"))
}

/// What a user with no credentials anywhere reads, instead of the chain's last attempt (an
/// instance metadata request that could not connect).
pub const NO_CREDENTIALS: &str =
    "no AWS credentials found: set a profile (--profile), run `aws sso login`, or export keys";

/// Whether the credential chain found nothing at all.
pub(crate) fn missing_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    let mut cause = Some(err);
    while let Some(c) = cause {
        if matches!(c.downcast_ref::<CredentialsError>(), Some(CredentialsError::CredentialsNotLoaded(_))) {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A one-line explanation of an SDK failure, naming the permission when access was denied.
pub fn describe<E>(err: &aws_sdk_s3::error::SdkError<E>, action: &str) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    let code = err.code().unwrap_or("");
    let msg = err.message().unwrap_or("");
    // S3 answers a request signed for the wrong region with the bucket's own region.
    if let Some(region) = bucket_region_in(err)
        && (matches!(code, "PermanentRedirect" | "AuthorizationHeaderMalformed")
            || err.raw_response().is_some_and(|r| r.status().as_u16() == 301))
    {
        return format!("the bucket is in {region}: pass --region {region}");
    }
    match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            format!("access denied: the credentials lack {action} ({msg})")
        }
        "NoSuchBucket" => "no such bucket".into(),
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "credentials expired: refresh them (aws sso login, new session)".into()
        }
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" => {
            format!("credentials rejected ({code}): check the profile or keys")
        }
        // No service error: a connection, timeout or configuration problem. The innermost
        // cause says what went wrong ("Connection refused"), the outermost at which stage; the
        // SDK's own rendering adds a page of debug output.
        "" if missing_credentials(err as &(dyn std::error::Error + 'static)) => NO_CREDENTIALS.into(),
        "" => {
            let mut causes = vec![err.to_string()];
            let mut cause = std::error::Error::source(err);
            while let Some(c) = cause {
                causes.push(c.to_string());
                cause = c.source();
            }
            match causes.as_slice() {
                [first, .., last] => format!("{last} ({first})"),
                _ => causes.concat(),
            }
        }
        _ => format!("{code}: {msg}"),
    }
}

#[cfg(test)]
mod endpoint_tests {
    use super::endpoint_warning;

    #[test]
    fn plain_http_is_fine_on_loopback_only() {
        for quiet in [
            None,
            Some("https://s3.example.com"),
            Some("http://127.0.0.1:9000"),
            Some("http://localhost:9000/x"),
            Some("http://[::1]:9000"),
        ] {
            assert_eq!(endpoint_warning(quiet), None, "{quiet:?}");
        }
        for loud in [
            "http://minio.internal:9000",
            "http://10.0.0.5",
            "http://user@192.168.1.2:9000/",
            "http://[2001:db8::1]:80",
        ] {
            assert!(endpoint_warning(Some(loud)).is_some_and(|w| w.contains("in the clear")), "{loud}");
        }
    }
}
