//! Object downloads. A GetObject through the SDK costs about 220 µs of CPU besides the HTTP
//! exchange (its orchestrator, interceptors, endpoint rules and response deserialisers run for
//! every request), which is a third of what parsing a quiet account's small object costs. So a
//! plain GET goes first: the SDK's own HTTP connector, the URL its endpoint rules give for the
//! bucket, a SigV4 signature from `aws-sigv4` with the client's credentials. Anything but a 200
//! goes to the SDK, whose retries, back-off and error model then decide; and if the SDK gets
//! an object this path was refused, this path stops, since the bucket needs a rule it lacks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::super::aws::{describe, persist};

/// Kept as they are in an object's path: S3's unreserved characters and the separator.
const KEY_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');
/// Credentials this close to expiry are fetched again.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
const PROBE_KEY: &str = "trailtop-endpoint-probe";

/// Gets a bucket's objects.
pub struct Objects {
    client: Client,
    bucket: String,
    direct: Option<Direct>,
}

/// Why the plain GET did not bring the object.
#[derive(Debug, PartialEq)]
enum Miss {
    /// Refused (400, 401, 403, 301): if the SDK is not, the request shape is wrong here.
    Refused,
    /// Anything else: a server error, a timeout, a dropped connection.
    Failed,
    /// The body went past the size the listing announced: abandoned, not fetched again.
    TooLarge,
}

/// The error for a body larger than its listing said.
fn too_large(listed: u64) -> String {
    format!("the body went past the {listed} bytes its listing announced; abandoned (retried on a later poll)")
}

struct Direct {
    http: SharedHttpConnector,
    /// The object URL without the key, as the SDK's endpoint rules resolve it.
    base: String,
    region: String,
    provider: SharedCredentialsProvider,
    credentials: tokio::sync::RwLock<Option<Credentials>>,
    on: AtomicBool,
    stall: Duration,
}

impl Objects {
    /// `credentials` are the client's (its configuration no longer hands them out): without
    /// them, the SDK fetches alone.
    pub async fn new(
        client: Client,
        bucket: String,
        credentials: Option<SharedCredentialsProvider>,
        stall: Duration,
    ) -> Self {
        let direct = match credentials {
            Some(c) => Direct::new(&client, &bucket, c, stall).await,
            None => None,
        };
        if direct.is_none() {
            tracing::info!("s3://{bucket}: objects are fetched through the SDK alone");
        }
        Self { client, bucket, direct }
    }

    /// The object's bytes, or a one-line error naming what is wrong. A body that goes past
    /// `listed` (the size the listing announced) is abandoned at once: an object listed as
    /// 10 bytes and served as 1.1 GiB drove memory to 2.6 GiB.
    pub async fn get(&self, key: &str, listed: u64) -> Result<Bytes, String> {
        let miss = match &self.direct {
            Some(d) if d.on.load(Ordering::Relaxed) => match d.get(key, listed).await {
                Ok(bytes) => return Ok(bytes),
                Err(Miss::TooLarge) => return Err(too_large(listed)),
                Err(miss) => Some(miss),
            },
            _ => None,
        };
        let got = match persist(|| self.client.get_object().bucket(&self.bucket).key(key).send()).await {
            Ok(o) => sdk_body(o.body, listed).await,
            Err(e) => Err(describe(&e, "s3:GetObject")),
        };
        if got.is_ok()
            && miss == Some(Miss::Refused)
            && let Some(d) = &self.direct
            && d.on.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(
                "s3://{}/{key}: refused to a plain GET, not to the SDK; the SDK fetches from now on",
                self.bucket
            );
        }
        got
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// For the requests other than GetObject.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Direct {
    /// `None` when the client's requests for this bucket need more than a SigV4 signature for
    /// `s3` (S3 Express, multi-region access points).
    async fn new(client: &Client, bucket: &str, provider: SharedCredentialsProvider, stall: Duration) -> Option<Self> {
        // Presigning runs the SDK's endpoint rules (custom endpoint, path style, FIPS, dual
        // stack) and names the signing scope, without a request.
        let probe = client
            .get_object()
            .bucket(bucket)
            .key(PROBE_KEY)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).ok()?)
            .await
            .ok()?;
        let (base, region) = scope(probe.uri())?;
        let http = super::super::aws::http_connector()?;
        Some(Self {
            http,
            base,
            region,
            provider,
            credentials: tokio::sync::RwLock::new(None),
            on: AtomicBool::new(true),
            stall,
        })
    }

    /// The credentials, fetched again near their expiry by one request while the others wait.
    /// A failure turns this path off: the SDK then says what is wrong, and a chain that finds
    /// nothing (probing the instance metadata service) is not run for every object.
    async fn credentials(&self) -> Option<Credentials> {
        let fresh = |c: &Credentials| c.expiry().is_none_or(|t| t > SystemTime::now() + REFRESH_BEFORE);
        if let Some(c) = self.credentials.read().await.as_ref().filter(|c| fresh(c)) {
            return Some(c.clone());
        }
        let mut slot = self.credentials.write().await;
        if let Some(c) = slot.as_ref().filter(|c| fresh(c)) {
            return Some(c.clone());
        }
        use aws_sdk_s3::config::ProvideCredentials;
        match self.provider.provide_credentials().await {
            Ok(c) => Some(slot.insert(c).clone()),
            Err(e) => {
                tracing::info!("no credentials for plain GETs ({e}); the SDK fetches from now on");
                self.on.store(false, Ordering::Relaxed);
                None
            }
        }
    }

    async fn get(&self, key: &str, listed: u64) -> Result<Bytes, Miss> {
        let identity = self.credentials().await.ok_or(Miss::Failed)?.into();
        let uri = format!("{}/{}", self.base, utf8_percent_encode(key, KEY_PATH));
        let mut settings = SigningSettings::default();
        // As the SDK signs for S3: the hash of the (empty) payload in a header, the path as sent.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|_| Miss::Failed)?
            .into();
        let agent = concat!("trailtop/", env!("CARGO_PKG_VERSION"));
        let headers = [("user-agent", agent)];
        let signable = SignableRequest::new("GET", &uri, headers.into_iter(), SignableBody::Bytes(&[]))
            .map_err(|_| Miss::Failed)?;
        let (instructions, _) = sign(signable, &params).map_err(|_| Miss::Failed)?.into_parts();
        let mut req =
            http::Request::get(&uri).header("user-agent", agent).body(SdkBody::empty()).map_err(|_| Miss::Failed)?;
        instructions.apply_to_request_http1x(&mut req);
        let req = req.try_into().map_err(|_| Miss::Failed)?;
        let resp = self.http.call(req).await.map_err(|e| {
            tracing::debug!("plain GET {key}: {e}");
            Miss::Failed
        })?;
        match resp.status().as_u16() {
            200 => body(resp.into_body(), self.stall, listed).await,
            301 | 400 | 401 | 403 => Err(Miss::Refused),
            _ => Err(Miss::Failed),
        }
    }
}

/// A response body. One that sends nothing for `stall` is a failure (the SDK, which then
/// fetches the object, guards its own the same way), or one stalled object would hold back
/// every object after it.
async fn body(body: SdkBody, stall: Duration, listed: u64) -> Result<Bytes, Miss> {
    let announced = body.content_length().unwrap_or(0).min(64 << 20) as usize;
    let mut stream = ByteStream::new(body);
    // A small object comes in one chunk, kept as it is; more are copied into one buffer.
    let (mut first, mut buf) = (None::<Bytes>, Vec::new());
    let mut total = 0u64;
    loop {
        let next = tokio::time::timeout(stall, stream.next()).await;
        if let Ok(Some(Ok(chunk))) = &next {
            total += chunk.len() as u64;
            if total > listed {
                return Err(Miss::TooLarge);
            }
        }
        match next {
            Ok(Some(Ok(chunk))) if first.is_none() && buf.is_empty() => first = Some(chunk),
            Ok(Some(Ok(chunk))) => {
                if let Some(f) = first.take() {
                    buf.reserve(announced.max(f.len() + chunk.len()));
                    buf.extend_from_slice(&f);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(first.unwrap_or_else(|| buf.into())),
            Ok(Some(Err(_))) | Err(_) => return Err(Miss::Failed),
        }
    }
}

/// An SDK response body, abandoned once it goes past `listed` bytes.
async fn sdk_body(mut body: ByteStream, listed: u64) -> Result<Bytes, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if (buf.len() + chunk.len()) as u64 > listed {
            return Err(too_large(listed));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.into())
}

/// The object URL without the key, and the signing region, from a presigned URL of
/// [`PROBE_KEY`]; `None` unless it is signed with plain SigV4 for `s3`.
fn scope(presigned: &str) -> Option<(String, String)> {
    let (path, query) = presigned.split_once('?')?;
    let base = path.strip_suffix(PROBE_KEY)?.strip_suffix('/')?;
    let mut algorithm_ok = false;
    let mut region = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=')?;
        let value = percent_encoding::percent_decode_str(value).decode_utf8().ok()?;
        match name {
            "X-Amz-Algorithm" => algorithm_ok = value == "AWS4-HMAC-SHA256",
            // KEY/DATE/REGION/SERVICE/aws4_request
            "X-Amz-Credential" => {
                let parts: Vec<&str> = value.rsplitn(4, '/').collect();
                if let [_, "s3", r, _] = parts.as_slice() {
                    region = Some((*r).to_owned());
                }
            }
            _ => {}
        }
    }
    algorithm_ok.then_some(())?;
    Some((base.to_owned(), region?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_takes_the_base_url_and_region_of_plain_sigv4_for_s3() {
        let url = "https://b.s3.eu-west-1.amazonaws.com/trailtop-endpoint-probe?x-id=GetObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261201%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T000000Z";
        assert_eq!(scope(url), Some(("https://b.s3.eu-west-1.amazonaws.com".into(), "eu-west-1".into())));
        let path_style = url.replace("https://b.s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000/b");
        assert_eq!(scope(&path_style).unwrap().0, "http://127.0.0.1:9000/b");
        // S3 Express and SigV4a need what this path does not do.
        assert_eq!(scope(&url.replace("%2Fs3%2F", "%2Fs3express%2F")), None);
        assert_eq!(scope(&url.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")), None);
        assert_eq!(scope("https://b.s3.amazonaws.com/other?X-Amz-Algorithm=AWS4-HMAC-SHA256"), None);
    }

    #[test]
    fn keys_keep_their_separators_and_escape_the_rest() {
        let key = "AWSLogs/o-1/111/CloudTrail/us-east-1/2026/12/01/a b+c=d.json.gz";
        assert_eq!(
            utf8_percent_encode(key, KEY_PATH).to_string(),
            "AWSLogs/o-1/111/CloudTrail/us-east-1/2026/12/01/a%20b%2Bc%3Dd.json.gz"
        );
    }
}
