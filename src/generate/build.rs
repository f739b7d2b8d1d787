//! Building identities and records.

use std::sync::Arc;

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value, json};

use super::catalog::Call;
use super::record::{Identity, Record, TlsDetails};
use crate::parse::time::rfc3339;

pub const ACCOUNT: &str = "123456789012";

pub fn uuid(rng: &mut SmallRng) -> String {
    let a: u128 = rng.r#gen();
    // Version 4 layout from the number's fields (the version nibble replaced by 4).
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 96,
        (a >> 80) & 0xffff,
        (a >> 64) & 0xfff,
        (a >> 48) & 0xffff,
        a & 0xffff_ffff_ffff
    )
}

/// A 20-character access key id with the given prefix (AKIA long-term, ASIA temporary).
pub fn access_key(prefix: &str, seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let tail: String = (0..16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 32) as usize] as char
        })
        .collect();
    format!("{prefix}{tail}")
}

pub fn iam_user(name: &str, key: &str) -> Arc<Identity> {
    Arc::new(Identity {
        kind: "IAMUser",
        principal_id: Some(format!("AIDA{}Q", access_key("", name.len() as u64 * 7919 + name.as_bytes()[0] as u64))),
        arn: Some(format!("arn:aws:iam::{ACCOUNT}:user/{name}")),
        account_id: Some(ACCOUNT.into()),
        access_key_id: Some(key.into()),
        user_name: Some(name.into()),
        session_context: None,
        invoked_by: None,
    })
}

/// A role session; `mfa` and `created` describe how the session was obtained.
pub fn assumed_role(role: &str, session: &str, key: &str, mfa: bool, created: i64) -> Arc<Identity> {
    let role_id = format!("AROA{}Q", access_key("", role.len() as u64 * 104_729));
    Arc::new(Identity {
        kind: "AssumedRole",
        principal_id: Some(format!("{role_id}:{session}")),
        arn: Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/{session}", role.rsplit('/').next().unwrap_or(role))),
        account_id: Some(ACCOUNT.into()),
        access_key_id: Some(key.into()),
        user_name: None,
        session_context: Some(json!({
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                              "accountId": ACCOUNT, "userName": role.rsplit('/').next().unwrap_or(role)},
            "webIdFederationData": {},
            "attributes": {"creationDate": rfc3339(created), "mfaAuthenticated": if mfa { "true" } else { "false" }}
        })),
        invoked_by: None,
    })
}

pub fn root() -> Arc<Identity> {
    Arc::new(Identity {
        kind: "Root",
        principal_id: Some(ACCOUNT.into()),
        arn: Some(format!("arn:aws:iam::{ACCOUNT}:root")),
        account_id: Some(ACCOUNT.into()),
        access_key_id: Some(access_key("ASIA", 1)),
        user_name: None,
        session_context: None,
        invoked_by: None,
    })
}

pub fn service(host: &str) -> Arc<Identity> {
    Arc::new(Identity {
        kind: "AWSService",
        principal_id: None,
        arn: None,
        account_id: None,
        access_key_id: None,
        user_name: None,
        session_context: None,
        invoked_by: Some(host.into()),
    })
}

pub fn federated(name: &str, key: &str) -> Arc<Identity> {
    Arc::new(Identity {
        kind: "FederatedUser",
        principal_id: Some(format!("{ACCOUNT}:{name}")),
        arn: Some(format!("arn:aws:sts::{ACCOUNT}:federated-user/{name}")),
        account_id: Some(ACCOUNT.into()),
        access_key_id: Some(key.into()),
        user_name: None,
        session_context: Some(json!({"sessionIssuer": {"type": "IAMUser", "principalId": "AIDAFEDERATIONISSUER",
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/federation-broker"), "accountId": ACCOUNT, "userName": "federation-broker"},
            "attributes": {"creationDate": "2024-01-01T00:00:00Z", "mfaAuthenticated": "false"}})),
        invoked_by: None,
    })
}

/// What a call looks like when it goes wrong for a benign or a hostile caller.
pub fn denied(call: &Call) -> (String, String) {
    if call.0 == "ec2.amazonaws.com" {
        ("Client.UnauthorizedOperation".into(), "You are not authorized to perform this operation.".into())
    } else {
        let svc = call.0.split('.').next().unwrap_or("");
        ("AccessDenied".into(), format!("User is not authorized to perform: {svc}:{}", call.1))
    }
}

/// Everything needed for one record besides the identity.
pub struct Call1<'a> {
    pub call: Call,
    pub region: &'a str,
    pub ip: &'a str,
    pub agent: &'a str,
    pub error: Option<(String, String)>,
    pub params: Option<Value>,
    pub response: Option<Value>,
    pub extra: Option<Value>,
}

impl<'a> Call1<'a> {
    pub fn new(call: Call, region: &'a str, ip: &'a str, agent: &'a str) -> Self {
        Self { call, region, ip, agent, error: None, params: None, response: None, extra: None }
    }
}

pub fn record(rng: &mut SmallRng, t: i64, who: &Arc<Identity>, c: Call1) -> Record {
    let (source, name, read, data) = c.call;
    let params = c.params.or_else(|| default_params(rng, source, name));
    let extra = c.extra.or_else(|| default_transfer(source, name, c.error.is_some(), params.as_ref()));
    let service_caller = who.kind == "AWSService";
    Record {
        event_version: if data { "1.10" } else { "1.09" },
        user_identity: Arc::clone(who),
        event_time: rfc3339(t),
        event_source: source.into(),
        event_name: name.into(),
        aws_region: c.region.into(),
        source_ip_address: c.ip.into(),
        user_agent: c.agent.into(),
        error_code: c.error.as_ref().map(|e| e.0.clone()),
        error_message: c.error.map(|e| e.1),
        request_parameters: params,
        response_elements: c.response,
        additional_event_data: extra,
        request_id: uuid(rng),
        event_id: uuid(rng),
        read_only: read,
        event_type: if name == "ConsoleLogin" {
            "AwsConsoleSignIn"
        } else if service_caller {
            "AwsServiceEvent"
        } else {
            "AwsApiCall"
        },
        management_event: !data,
        recipient_account_id: ACCOUNT.into(),
        event_category: if data { "Data" } else { "Management" },
        tls_details: (!service_caller).then(|| TlsDetails {
            tls_version: "TLSv1.3",
            cipher_suite: "TLS_AES_128_GCM_SHA256",
            client_provided_host_header: if source == "s3.amazonaws.com" {
                format!("s3.{}.amazonaws.com", c.region)
            } else {
                format!("{}.{}.amazonaws.com", source.split('.').next().unwrap_or(""), c.region)
            },
        }),
    }
}

/// `additionalEventData` of an S3 object call as S3 writes it, moving `bytes_in` and
/// `bytes_out`.
pub fn s3_transfer(bytes_in: u64, bytes_out: u64) -> Value {
    json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": bytes_in,
           "AuthenticationMethod": "AuthHeader", "bytesTransferredOut": bytes_out})
}

/// A size between `lo` and `hi` bytes, spread evenly on a log scale, fixed by `key` (so an
/// object has one size, and drawing it costs no randomness the rest of the hour depends on).
pub fn object_size(key: &str, lo: u64, hi: u64) -> u64 {
    // SplitMix64's finaliser over the key's FNV hash: uniform in [0, 1).
    let mut x = crate::parse::fnv1a(key.as_bytes());
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let h = (x ^ (x >> 31)) as f64 / (u64::MAX as f64 + 1.0);
    let (lo, hi) = ((lo.max(1) as f64).ln(), (hi.max(1) as f64).ln());
    (lo + h * (hi - lo)).exp() as u64
}

/// What a successful everyday object read or write moves: 2 KB to 8 MB.
fn default_transfer(source: &str, name: &str, failed: bool, params: Option<&Value>) -> Option<Value> {
    if source != "s3.amazonaws.com" || !matches!(name, "GetObject" | "PutObject") {
        return None;
    }
    let size = if failed { 0 } else { object_size(params?.get("key")?.as_str()?, 2_000, 8_000_000) };
    Some(if name == "GetObject" { s3_transfer(0, size) } else { s3_transfer(size, 0) })
}

fn default_params(rng: &mut SmallRng, source: &str, name: &str) -> Option<Value> {
    match (source, name) {
        ("s3.amazonaws.com", "GetObject" | "PutObject") => Some(json!({
            "bucketName": (["app-artifacts", "data-lake-raw", "team-reports"][rng.gen_range(0..3)]),
            "key": (format!("{}/{:06}.parquet", ["2024", "builds", "exports"][rng.gen_range(0..3)], rng.gen_range(0..999_999))),
            "Host": "s3.amazonaws.com"})),
        ("s3.amazonaws.com", "ListObjects") => Some(json!({"bucketName": "app-artifacts", "prefix": "builds/"})),
        ("ec2.amazonaws.com", "DescribeInstances") => Some(json!({"instancesSet": {}, "filterSet": {}})),
        ("dynamodb.amazonaws.com", _) => Some(json!({"tableName": "orders"})),
        ("kms.amazonaws.com", "Decrypt" | "GenerateDataKey") => {
            Some(json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}))
        }
        ("sts.amazonaws.com", "AssumeRole") => {
            Some(json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/app-lambda-role"), "roleSessionName": "svc"}))
        }
        _ => None,
    }
}
