//! The CloudTrail record schema: the serde model of one record and the owned, sanitized
//! [`Event`] that the rest of trailtop works with.

use std::sync::Arc;

use serde::Deserialize;

use super::identity::{WireAttributes, WireIdentity, WireIssuer, WireSession, principal_of};
use super::lenient::{Object, Text, boxed, boxed_opt};
use super::sanitize::clean;
use super::time::parse_event_time;

/// One record as it is on the wire. Every field is optional and type-tolerant; required-ness
/// is decided in [`Event::from_wire`]. Lower-case aliases cover data-lake exports.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct WireRecord<'a> {
    #[serde(borrow, alias = "eventtime")]
    event_time: Text<'a>,
    /// Logstash exports drop `eventTime` and keep only their own timestamp.
    #[serde(borrow, rename = "@timestamp")]
    at_timestamp: Text<'a>,
    /// Panther's normalised copy of the event time.
    #[serde(borrow, rename = "p_event_time")]
    p_event_time: Text<'a>,
    /// Insight records name the call they are about here, not in `eventName`.
    #[serde(borrow)]
    insight_details: Object<'a>,
    #[serde(borrow, rename = "eventID", alias = "eventid")]
    event_id: Text<'a>,
    #[serde(borrow, alias = "eventsource")]
    event_source: Text<'a>,
    #[serde(borrow, alias = "eventname")]
    event_name: Text<'a>,
    #[serde(borrow, alias = "awsregion")]
    aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress", alias = "sourceipaddress")]
    source_ip_address: Text<'a>,
    #[serde(borrow, alias = "useragent")]
    user_agent: Text<'a>,
    #[serde(borrow, alias = "errorcode")]
    error_code: Text<'a>,
    #[serde(borrow, alias = "errormessage")]
    error_message: Text<'a>,
    #[serde(borrow, alias = "readonly")]
    read_only: Text<'a>,
    #[serde(borrow, alias = "eventtype")]
    event_type: Text<'a>,
    #[serde(borrow, alias = "eventcategory")]
    event_category: Text<'a>,
    #[serde(borrow, alias = "recipientaccountid")]
    recipient_account_id: Text<'a>,
    #[serde(borrow, alias = "useridentity")]
    user_identity: Object<'a>,
    #[serde(borrow, alias = "requestparameters")]
    request_parameters: Object<'a>,
    #[serde(borrow, alias = "responseelements")]
    response_elements: Object<'a>,
    #[serde(borrow, alias = "additionaleventdata")]
    additional_event_data: Object<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WireInsight<'a> {
    #[serde(borrow)]
    event_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireLoginData<'a> {
    #[serde(borrow, rename = "MFAUsed")]
    mfa_used: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireLoginResult<'a> {
    #[serde(borrow, rename = "ConsoleLogin")]
    console_login: Text<'a>,
}

/// What kind of CloudTrail record this is; Insight records describe rates, not calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Control-plane calls.
    Management,
    /// Data events (S3 objects, Lambda invocations).
    Data,
    /// CloudTrail Insights.
    Insight,
    /// Anything else.
    Other,
}

/// One CloudTrail record, typed and with every display string sanitized.
#[derive(Debug, Clone)]
pub struct Event {
    /// `eventID` (de-duplication key).
    pub id: Box<str>,
    /// `eventTime` as Unix seconds.
    pub time: i64,
    /// `eventSource` (`iam.amazonaws.com`).
    pub source: Box<str>,
    /// `eventName`.
    pub name: Box<str>,
    /// `awsRegion`.
    pub region: Box<str>,
    /// `sourceIPAddress`.
    pub ip: Box<str>,
    /// `userAgent`.
    pub user_agent: Box<str>,
    /// `errorCode`.
    pub error_code: Option<Box<str>>,
    /// `errorMessage`.
    pub error_message: Option<Box<str>>,
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// The kind of record.
    pub category: Category,
    /// `recipientAccountId`, else the identity's account.
    pub account: Box<str>,
    /// `userIdentity.type` (IAMUser, AssumedRole, Root, AWSService, ...).
    pub identity_type: Box<str>,
    /// Who acted; see [`principal_of`](super::identity::principal_of) for the fallbacks when
    /// there is no ARN.
    pub principal: Box<str>,
    /// Where `userIdentity.arn` is: rules read it on every call, so the principal stands in
    /// for it when it is the ARN exactly as it came.
    pub arn: super::ArnKept,
    /// `userIdentity.accessKeyId`.
    pub access_key: Option<Box<str>>,
    /// `userIdentity.userName`.
    pub user_name: Option<Box<str>>,
    /// `userIdentity.sessionContext.sessionIssuer.type` (Role, IAMUser, …), which rules about
    /// every call read.
    pub issuer_type: Option<Box<str>>,
    /// `eventType` (AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, …).
    pub event_type: Option<Box<str>>,
    /// MFA: `MFAUsed` of a console login, else the session's `mfaAuthenticated`.
    pub mfa: Option<bool>,
    /// For `ConsoleLogin`: whether `responseElements.ConsoleLogin` said Success.
    pub login_ok: Option<bool>,
    /// For S3 calls: `additionalEventData.bytesTransferredOut` (0 when absent or not a
    /// whole number).
    pub bytes_out: u64,
    /// For S3 calls: `requestParameters.bucketName`.
    pub bucket: Option<Box<str>>,
    /// `requestParameters` as raw JSON, kept only for the calls whose rules read it.
    pub params: Option<Box<str>>,
    /// The record exactly as it came, for drill-down and export.
    pub raw: Option<Arc<str>>,
    /// What the detection rules that fired on it are called (`high: CloudTrail Logging
    /// Stopped`), set by the pipeline as it takes the record in; empty until then.
    pub marks: Box<[Arc<str>]>,
}

/// Calls whose `requestParameters` a detection rule inspects.
const PARAM_CALLS: &[&str] = &[
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutBucketPolicy",
    "PutBucketAcl",
    "ModifySnapshotAttribute",
    "ModifyImageAttribute",
    "ModifyDBSnapshotAttribute",
    "RunInstances",
    "PutEventSelectors",
];

/// Why a record could not become an [`Event`].
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// No `eventTime` in a form trailtop reads.
    #[error("record has no usable eventTime")]
    NoTime,
    /// An `eventTime` far outside any plausible range.
    #[error("eventTime {0} is outside 2005 .. a day from now")]
    ImplausibleTime(String),
    /// No `eventName`.
    #[error("record has no eventName")]
    NoName,
}

fn truthy(t: &Text) -> Option<bool> {
    match t.as_str()?.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

impl Event {
    pub(super) fn from_wire(w: &WireRecord, raw: &str, opts: &super::ParseOptions) -> Result<Event, RecordError> {
        let time = w
            .event_time
            .as_str()
            .or(w.at_timestamp.as_str())
            .or(w.p_event_time.as_str())
            .and_then(parse_event_time)
            .ok_or(RecordError::NoTime)?;
        if !super::time::plausible(time, chrono::Utc::now().timestamp().saturating_add(opts.max_ahead)) {
            let shown = w.event_time.as_str().or(w.at_timestamp.as_str()).or(w.p_event_time.as_str()).unwrap_or("");
            return Err(RecordError::ImplausibleTime(crate::text::truncate(&clean(shown), 40).into_owned()));
        }
        let insight: WireInsight = w.insight_details.parse();
        let name = w.event_name.as_str().or(insight.event_name.as_str()).ok_or(RecordError::NoName)?;
        let id: WireIdentity = w.user_identity.parse();
        let session: WireSession = id.session_context.parse();
        let issuer: WireIssuer = session.session_issuer.parse();
        let attributes: WireAttributes = session.attributes.parse();
        let mut mfa = truthy(&attributes.mfa_authenticated);
        let mut login_ok = None;
        if name == "ConsoleLogin" {
            let data: WireLoginData = w.additional_event_data.parse();
            mfa = truthy(&data.mfa_used).or(mfa);
            let result: WireLoginResult = w.response_elements.parse();
            login_ok = result.console_login.as_str().map(|r| r == "Success");
        }
        let category = match (w.event_category.as_str(), w.event_type.as_str()) {
            (Some("Insight"), _) | (_, Some("AwsCloudTrailInsight")) => Category::Insight,
            (Some("Data"), _) => Category::Data,
            (Some("Management"), _) | (None, _) => Category::Management,
            _ => Category::Other,
        };
        let event_id = match w.event_id.as_str() {
            Some(e) => clean(e).into(),
            // Without an id, identical records still de-duplicate through their content.
            None => format!("content-{:016x}", fnv1a(raw.as_bytes())).into(),
        };
        let (principal, arn) = principal_of(&id, issuer.arn.as_str());
        let (bytes_out, bucket) =
            super::s3::transfer(w.event_source.as_str(), &w.additional_event_data, &w.request_parameters);
        Ok(Event {
            id: event_id,
            time,
            source: boxed(&w.event_source),
            name: clean(name).into(),
            region: boxed(&w.aws_region),
            ip: boxed(&w.source_ip_address),
            user_agent: boxed(&w.user_agent),
            error_code: boxed_opt(&w.error_code),
            error_message: boxed_opt(&w.error_message),
            read_only: truthy(&w.read_only),
            category,
            account: w
                .recipient_account_id
                .as_str()
                .or(id.account_id.as_str())
                .map(|s| clean(s).into())
                .unwrap_or_default(),
            identity_type: boxed(&id.kind),
            principal: principal.into(),
            arn,
            access_key: boxed_opt(&id.access_key_id),
            user_name: boxed_opt(&id.user_name),
            issuer_type: boxed_opt(&issuer.kind),
            event_type: boxed_opt(&w.event_type),
            mfa,
            login_ok,
            bytes_out,
            bucket,
            params: PARAM_CALLS.contains(&name).then(|| w.request_parameters.text().map(Into::into)).flatten(),
            raw: (opts.keep_raw || opts.raw_calls.as_ref().is_some_and(|calls| calls.contains(name)))
                .then(|| Arc::from(raw)),
            marks: Box::default(),
        })
    }

    /// True for `AccessDenied`-family error codes (the spellings differ by service).
    pub fn is_access_denied(&self) -> bool {
        self.error_code.as_deref().is_some_and(|c| {
            c.contains("AccessDenied") || c.contains("UnauthorizedOperation") || c == "Client.UnauthorizedOperation"
        })
    }

    /// About how many bytes of memory the record holds (its strings and raw JSON included),
    /// for the tail's budget.
    pub fn approx_bytes(&self) -> usize {
        let opt = |s: &Option<Box<str>>| s.as_deref().map_or(0, str::len);
        std::mem::size_of::<Event>()
            + [&self.id, &self.source, &self.name, &self.region, &self.ip, &self.user_agent]
                .iter()
                .chain([&self.account, &self.identity_type, &self.principal].iter())
                .map(|s| s.len())
                .sum::<usize>()
            + opt(&self.error_code)
            + opt(&self.error_message)
            + opt(&self.access_key)
            + opt(&self.user_name)
            + opt(&self.issuer_type)
            + opt(&self.event_type)
            + opt(&self.bucket)
            + opt(&self.params)
            + self.raw.as_deref().map_or(0, |r| r.len() + 16)
            + self.marks.len() * std::mem::size_of::<Arc<str>>()
    }

    /// Service short name: `iam` for `iam.amazonaws.com`.
    pub fn service(&self) -> &str {
        let end = self.source.bytes().position(|b| b == b'.').unwrap_or(self.source.len());
        self.source.get(..end).unwrap_or(&self.source)
    }
}

/// FNV-1a: a stable content hash for records without an id.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
