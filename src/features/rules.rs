//! Single-event detections that need no baseline. They ride along with the features as a
//! bit set per entity-window and raise its rank (see `model::rank`).

use crate::parse::Event;

/// Rule ids with their weight in the rank formula, in bit order.
pub const RULES: &[(&str, f64)] = &[
    ("logging-tampering", 0.30),
    ("iam-persistence", 0.25),
    ("public-sharing", 0.25),
    ("console-brute-force", 0.25),
    ("offensive-agent", 0.20),
    ("console-no-mfa", 0.20),
    ("root-activity", 0.10),
    ("data-egress", 0.20),
];

/// StopLogging, DeleteTrail and the like.
pub const LOGGING_TAMPERING: u16 = 1 << 0;
/// A new user, key, login profile or admin policy for someone else.
pub const IAM_PERSISTENCE: u16 = 1 << 1;
/// A bucket, snapshot or image opened to everyone.
pub const PUBLIC_SHARING: u16 = 1 << 2;
/// Five or more failed console logins from one address in a window.
pub const CONSOLE_BRUTE_FORCE: u16 = 1 << 3;
/// A user agent of an offensive tool.
pub const OFFENSIVE_AGENT: u16 = 1 << 4;
/// A console login without MFA.
pub const CONSOLE_NO_MFA: u16 = 1 << 5;
/// The root user at work.
pub const ROOT_ACTIVITY: u16 = 1 << 6;
/// A window that moved out at least 8× (and 800 MB) more than its principal ever moved in
/// one window a day or more before (see `volume`); a window-level rule, never habitual.
pub const DATA_EGRESS: u16 = 1 << 7;

/// A principal's rule is habitual when it fired in at least this many of its earlier windows…
const HABIT_WINDOWS: usize = 3;
/// …making up at least this share of them: an SSO admin who changes IAM every day, root that
/// signs in for billing every Monday.
const HABIT_SHARE: f64 = 0.1;

/// Of `rules`, those the principal hit habitually in windows before `start`.
pub fn habitual(rules: u16, start: i64, window_rules: &rustc_hash::FxHashMap<i64, u16>) -> u16 {
    if rules == 0 {
        return 0;
    }
    let earlier: Vec<u16> = window_rules.iter().filter(|(w, _)| **w < start).map(|(_, r)| *r).collect();
    (0..RULES.len())
        .map(|i| 1u16 << i)
        .filter(|bit| rules & bit != 0)
        .filter(|bit| {
            let hits = earlier.iter().filter(|r| *r & bit != 0).count();
            hits >= HABIT_WINDOWS && hits as f64 >= HABIT_SHARE * earlier.len() as f64
        })
        .fold(0, |acc, bit| acc | bit)
}

/// Failed console sign-ins from one address in one window that make a brute force.
pub const BRUTE_FORCE_FAILURES: u32 = 5;

/// Tools whose user agents GuardDuty and the community flag as offensive (PenTest findings,
/// cloud exploitation frameworks, credential scanners).
const OFFENSIVE_AGENTS: &[&str] = &[
    "kali",
    "parrot",
    "pentoo",
    "pacu",
    "enumerate-iam",
    "cloudgoat",
    "weirdaal",
    "cloudfox",
    "scoutsuite",
    "prowler",
    "trufflehog",
    "stratus-red-team",
    "cloudsploit",
    "nmap",
    "sqlmap",
];

const TAMPERING: &[&str] = &[
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
    "DeleteFlowLogs",
    "DeleteDetector",
    "DisableOrganizationAdminAccount",
    "StopConfigurationRecorder",
    "DeleteConfigurationRecorder",
    "DeleteDeliveryChannel",
    "DisableSecurityHub",
    "DeleteLogGroup",
    // Route 53 Resolver query logs: the DNS trail.
    "DeleteResolverQueryLogConfig",
    "DisassociateResolverQueryLogConfig",
];

/// The rule bits one event sets, apart from the user-agent rule (see [`is_offensive_agent`]).
pub fn event_rules(ev: &Event) -> u16 {
    let name = &*ev.name;
    let mut bits = 0;
    if TAMPERING.contains(&name) {
        bits |= LOGGING_TAMPERING;
    }
    if &*ev.identity_type == "Root" && !name.starts_with("ConsoleLogin") {
        bits |= ROOT_ACTIVITY;
    }
    if name == "ConsoleLogin"
        && ev.login_ok != Some(false)
        && ev.mfa == Some(false)
        && matches!(&*ev.identity_type, "IAMUser" | "Root")
    {
        bits |= CONSOLE_NO_MFA;
    }
    if is_persistence(ev) {
        bits |= IAM_PERSISTENCE;
    }
    if is_public_sharing(ev) {
        bits |= PUBLIC_SHARING;
    }
    bits
}

/// Whether the built-in rule `rule` fired on the record `e`, so the drill-down can mark it and
/// the explanation name it. The window-level rules name the records they counted: the failed
/// console sign-ins of a brute force, the S3 reads that moved bytes in a data egress.
pub fn fires_on(rule: &str, e: &Event) -> bool {
    let Some(i) = RULES.iter().position(|(id, _)| *id == rule) else { return false };
    match 1u16 << i {
        OFFENSIVE_AGENT => is_offensive_agent(&e.user_agent),
        CONSOLE_BRUTE_FORCE => &*e.name == "ConsoleLogin" && e.login_ok == Some(false),
        DATA_EGRESS => e.bytes_out > 0,
        bit => event_rules(e) & bit != 0,
    }
}

/// Whether a user agent belongs to an offensive tool. Kept apart from [`event_rules`] so the
/// feature store can ask once per distinct agent rather than once per event.
pub fn is_offensive_agent(agent: &str) -> bool {
    offensive_tool(agent).is_some()
}

/// The offensive tool a user agent names (`kali`, `pacu`), so the explanation can say why.
pub fn offensive_tool(agent: &str) -> Option<&'static str> {
    let agent = agent.to_ascii_lowercase();
    OFFENSIVE_AGENTS.iter().find(|a| agent.contains(*a)).copied()
}

fn param<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    let at = params.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = params.get(at..)?.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    rest.split('"').next()
}

fn is_persistence(ev: &Event) -> bool {
    let p = ev.params.as_deref().unwrap_or("");
    match &*ev.name {
        // A Roles Anywhere trust anchor lets certificates the caller holds assume roles.
        "CreateUser" | "CreateLoginProfile" | "UpdateAssumeRolePolicy" | "CreateTrustAnchor" => true,
        // A key or password for someone else is how a foothold is kept.
        "CreateAccessKey" | "UpdateLoginProfile" => {
            param(p, "userName").is_some_and(|u| Some(u) != ev.user_name.as_deref())
        }
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => p.contains("AdministratorAccess"),
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => grants_every_action(p),
        _ => false,
    }
}

/// Whether an inline policy in `requestParameters` allows every action: `"Action": "*"`,
/// `["*", ...]`, however it is spaced, or an allowed `NotAction` (everything but a list).
/// CloudTrail gives `policyDocument` as a JSON string, sometimes as an object.
fn grants_every_action(params: &str) -> bool {
    use serde_json::Value;
    let Ok(Value::Object(p)) = serde_json::from_str::<Value>(params) else { return false };
    let doc = match p.get("policyDocument") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => return false,
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect::<Vec<_>>(),
        one @ Value::Object(_) => vec![one],
        _ => return false,
    };
    let wildcard = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(a) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    };
    statements
        .iter()
        .any(|st| st["Effect"].as_str() == Some("Allow") && (wildcard(&st["Action"]) || st.get("NotAction").is_some()))
}

fn is_public_sharing(ev: &Event) -> bool {
    let p = ev.params.as_deref().unwrap_or("");
    let compact: String = p.chars().filter(|c| !c.is_whitespace()).collect();
    match &*ev.name {
        "PutBucketPolicy" => compact.contains("\"Principal\":\"*\"") || compact.contains("\"AWS\":\"*\""),
        "PutBucketAcl" => compact.contains("AllUsers") || compact.contains("AuthenticatedUsers"),
        "ModifySnapshotAttribute" | "ModifyImageAttribute" => compact.contains("\"group\":\"all\""),
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => compact.contains("\"all\""),
        _ => false,
    }
}

/// The ids of the rules in a bit set.
pub fn rule_ids(bits: u16) -> Vec<&'static str> {
    RULES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, (id, _))| *id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseOptions, parse_bytes};

    fn ev(name: &str, extra: &str) -> Event {
        let json = format!(
            r#"{{"eventTime":"2024-03-01T10:00:00Z","eventName":"{name}","userAgent":"aws-cli/2","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","userName":"a"}}{extra}}}"#
        );
        parse_bytes(json.as_bytes(), &ParseOptions::default()).0.remove(0)
    }

    #[test]
    fn each_rule_names_the_records_it_fired_on() {
        assert!(fires_on("logging-tampering", &ev("StopLogging", "")));
        assert!(!fires_on("logging-tampering", &ev("GetTrailStatus", "")));
        let mut kali = ev("ListUsers", "");
        kali.user_agent = "aws-cli/2 kali".into();
        assert!(fires_on("offensive-agent", &kali) && !fires_on("offensive-agent", &ev("ListUsers", "")));
        let failed = ev("ConsoleLogin", r#","responseElements":{"ConsoleLogin":"Failure"}"#);
        assert!(fires_on("console-brute-force", &failed));
        assert!(!fires_on(
            "console-brute-force",
            &ev("ConsoleLogin", r#","responseElements":{"ConsoleLogin":"Success"}"#)
        ));
        let mut read = ev("GetObject", "");
        read.bytes_out = 5;
        assert!(fires_on("data-egress", &read) && !fires_on("data-egress", &ev("GetObject", "")));
        assert!(!fires_on("no-such-rule", &ev("StopLogging", "")));
    }

    /// `"Action":["*"]` or `"Action": "*"` evaded a check that looked for one spelling.
    #[test]
    fn inline_policies_that_allow_everything_are_persistence_however_written() {
        let put = |doc: &str| {
            let params = serde_json::json!({"userName": "b", "policyName": "p", "policyDocument": doc}).to_string();
            event_rules(&ev("PutUserPolicy", &format!(r#","requestParameters":{params}"#)))
        };
        for doc in [
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":["*"],"Resource":"*"}]}"#,
            r#"{"Statement": {"Effect": "Allow", "Action": [ "s3:GetObject", "*" ], "Resource": "*"}}"#,
            r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#,
        ] {
            assert_eq!(put(doc), IAM_PERSISTENCE, "{doc}");
        }
        for doc in [
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            "not json",
        ] {
            assert_eq!(put(doc), 0, "{doc}");
        }
        // As an object rather than a string, as some exports write it.
        let object =
            r#","requestParameters":{"roleName":"r","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*"}]}}"#;
        assert_eq!(event_rules(&ev("PutRolePolicy", object)), IAM_PERSISTENCE);
    }

    #[test]
    fn rules_fire_on_what_they_describe_only() {
        assert_eq!(event_rules(&ev("StopLogging", "")), LOGGING_TAMPERING);
        assert_eq!(event_rules(&ev("DescribeTrails", "")), 0);
        assert_eq!(event_rules(&ev("CreateAccessKey", r#","requestParameters":{"userName":"b"}"#)), IAM_PERSISTENCE);
        assert_eq!(event_rules(&ev("CreateAccessKey", r#","requestParameters":{"userName":"a"}"#)), 0);
        assert_eq!(event_rules(&ev("CreateAccessKey", r#","requestParameters":null"#)), 0);
        let admin =
            r#","requestParameters":{"userName":"b","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}"#;
        assert_eq!(event_rules(&ev("AttachUserPolicy", admin)), IAM_PERSISTENCE);
        let public = r#","requestParameters":{"bucketPolicy":{"Statement":[{"Principal": "*"}]}}"#;
        assert_eq!(event_rules(&ev("PutBucketPolicy", public)), PUBLIC_SHARING);
        let snap = r#","requestParameters":{"createVolumePermission":{"add":{"items":[{"group":"all"}]}}}"#;
        assert_eq!(event_rules(&ev("ModifySnapshotAttribute", snap)), PUBLIC_SHARING);
        let mut pacu = ev("ListBuckets", "");
        pacu.user_agent = "Boto3/1.26 Pacu/1.5".into();
        assert!(is_offensive_agent(&pacu.user_agent));
        assert!(!is_offensive_agent("aws-cli/2.15 Python/3.11"));
        assert_eq!(event_rules(&pacu), 0);
        let no_mfa = r#","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}"#;
        assert_eq!(event_rules(&ev("ConsoleLogin", no_mfa)), CONSOLE_NO_MFA);
        let failed = r#","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"}"#;
        assert_eq!(event_rules(&ev("ConsoleLogin", failed)), 0);
        assert_eq!(rule_ids(LOGGING_TAMPERING | ROOT_ACTIVITY), ["logging-tampering", "root-activity"]);
    }

    /// Stratus Red Team's dns-delete-logs and rolesanywhere-create-trust-anchor raised no rule.
    #[test]
    fn dns_query_logs_deleted_and_a_trust_anchor_created_are_rules() {
        assert_eq!(event_rules(&ev("DeleteResolverQueryLogConfig", "")), LOGGING_TAMPERING);
        assert_eq!(event_rules(&ev("CreateTrustAnchor", "")), IAM_PERSISTENCE);
        assert_eq!(event_rules(&ev("ListTrustAnchors", "")), 0);
    }
}
