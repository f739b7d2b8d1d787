//! The sensitive-API list: calls that change who can do what, switch off detection, or open
//! data to the world. Counted per entity-window as `sensitive_apis`.
//!
//! Patterns are `service:EventName`, where the name may end in `*` for a prefix. The list
//! follows what CloudTrail-based detections (GuardDuty findings, Sigma and Panther rules)
//! treat as high-value: identity changes in IAM, STS and Organizations; logging and detection
//! changes in CloudTrail, GuardDuty, Config, CloudWatch Logs and VPC flow logs; key changes in
//! KMS; secret reads; and sharing of snapshots, images and buckets.

const SENSITIVE: &[&str] = &[
    // IAM: every write changes identity or permissions.
    "iam:Create*",
    "iam:Delete*",
    "iam:Put*",
    "iam:Attach*",
    "iam:Detach*",
    "iam:Update*",
    "iam:Add*",
    "iam:Remove*",
    "iam:Upload*",
    "iam:Set*",
    "iam:Enable*",
    "iam:Deactivate*",
    "iam:ResyncMFADevice",
    "iam:ChangePassword",
    "sts:GetFederationToken",
    "sts:GetSessionToken",
    "organizations:LeaveOrganization",
    "organizations:Remove*",
    "organizations:Delete*",
    "organizations:Detach*",
    "organizations:DisablePolicyType",
    "organizations:UpdatePolicy",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:DeleteEventDataStore",
    "guardduty:Delete*",
    "guardduty:Disable*",
    "guardduty:UpdateDetector",
    "guardduty:CreateIPSet",
    "guardduty:UpdateIPSet",
    "guardduty:CreateFilter",
    "securityhub:Disable*",
    "securityhub:Delete*",
    "config:StopConfigurationRecorder",
    "config:Delete*",
    "logs:DeleteLogGroup",
    "logs:DeleteLogStream",
    "logs:PutRetentionPolicy",
    "ec2:DeleteFlowLogs",
    "ec2:ModifySnapshotAttribute",
    "ec2:ModifyImageAttribute",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateKeyPair",
    "ec2:ImportKeyPair",
    "ec2:GetPasswordData",
    "ec2:ModifyInstanceAttribute",
    "ec2:SendSerialConsoleSSHPublicKey",
    "ec2-instance-connect:SendSSHPublicKey",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:DeleteBucketPublicAccessBlock",
    "s3:PutBucketLogging",
    "s3:PutBucketReplication",
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:SendCommand",
    "ssm:StartSession",
    "lambda:UpdateFunctionCode*",
    "lambda:AddPermission*",
    "lambda:PublishLayerVersion*",
    "rds:ModifyDBSnapshotAttribute",
    "rds:ModifyDBClusterSnapshotAttribute",
    "rolesanywhere:CreateTrustAnchor",
    "route53resolver:DeleteResolverQueryLogConfig",
];

/// The list indexed by service, built once: the check runs for every event.
fn by_service() -> &'static rustc_hash::FxHashMap<&'static str, Vec<&'static str>> {
    static MAP: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, Vec<&'static str>>> =
        std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        let mut m: rustc_hash::FxHashMap<&'static str, Vec<&'static str>> = Default::default();
        for p in SENSITIVE {
            if let Some((svc, pat)) = p.split_once(':') {
                m.entry(svc).or_default().push(pat);
            }
        }
        m
    })
}

/// True when `service:name` (service as in `iam`, from `iam.amazonaws.com`) is on the list.
pub fn is_sensitive(service: &str, name: &str) -> bool {
    by_service().get(service).is_some_and(|pats| {
        pats.iter().any(|pat| match pat.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *pat,
        })
    })
}

/// Whether a call reads only. CloudTrail says so in `readOnly`; when a record does not, the
/// verb decides.
pub fn is_read(read_only: Option<bool>, name: &str) -> bool {
    read_only.unwrap_or_else(|| {
        ["Get", "List", "Describe", "Head", "Lookup", "Search", "Check", "BatchGet"].iter().any(|v| name.starts_with(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches() {
        assert!(is_sensitive("iam", "CreateAccessKey"));
        assert!(is_sensitive("cloudtrail", "StopLogging"));
        assert!(is_sensitive("lambda", "UpdateFunctionCode20150331v2"));
        assert!(!is_sensitive("iam", "ListUsers"));
        assert!(!is_sensitive("s3", "GetObject"));
        assert!(is_read(None, "DescribeInstances"));
        assert!(!is_read(None, "RunInstances"));
        assert!(!is_read(Some(false), "GetObject"));
    }
}
