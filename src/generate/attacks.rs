//! Injected attack scenarios. Each instance is labelled, starts at a given time and interleaves
//! with the benign traffic of the same hours. The doc of each variant says what it does and
//! which features it should move.

use std::sync::Arc;

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

use super::build::{self, ACCOUNT, Call1, access_key, record};
use super::catalog::*;
use super::population::login;
use super::record::{Identity, Record};

/// The attack scenarios the generator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A developer's long-term key used from a VPS: GetCallerIdentity, then ~150 List/Describe
    /// calls over 25 services in 20 minutes. Moves new_ips, new_user_agents, distinct_sources,
    /// distinct_events, access_denied.
    StolenKeyRecon,
    /// enumerate-iam against a CI key: ~400 calls in 5 minutes, 85% denied. Moves
    /// failure_ratio, access_denied, distinct_events, rate.
    PermissionEnumeration,
    /// A developer signs in to the console at 03:00 their time without MFA from a new address.
    /// Moves console_login_no_mfa, new_ips, hour_sin/cos.
    ConsoleNoMfa,
    /// A Lambda role's credentials used from outside with Pacu. Moves new_ips,
    /// new_user_agents, distinct_sources; rule: offensive user agent.
    OffensiveAgent,
    /// CreateUser, CreateAccessKey for it, AttachUserPolicy AdministratorAccess,
    /// CreateLoginProfile; then the new user acts. Moves sensitive_apis, write_ratio,
    /// new_principal.
    IamPersistence,
    /// StopLogging, DeleteTrail, PutEventSelectors, DeleteFlowLogs, GuardDuty DeleteDetector,
    /// StopConfigurationRecorder. Moves sensitive_apis, write_ratio; rule: logging tampering.
    DefenseEvasion,
    /// ~800 GetObject with S3 Browser, then a public bucket policy. Moves events, rate,
    /// new_user_agents; rule: public sharing.
    S3Exfiltration,
    /// RunInstances of GPU types in six unused regions, many failing. Moves distinct_regions,
    /// new_regions, failure_ratio, write_ratio.
    CryptoMining,
    /// Two or three Describe calls an hour for two days from one new address with a stolen
    /// key. Moves new_ips only, weakly, in every window: the hard case.
    LowAndSlowRecon,
    /// 60 failed console sign-ins from one address against eight user names within minutes.
    /// Moves console_login_failures; rule: brute force.
    ConsoleBruteForce,
    /// A developer's own key, from their office address and their usual CLI, in office hours,
    /// downloads ~1,000 objects (about 20 GB) from two buckets they never read: an insider or a
    /// compromised laptop. Moves bytes_excess, reads_excess, bucket_novelty and little else.
    BulkDownload,
    /// A Lambda role, from its own address and agent (a compromised function), reads ~25
    /// large objects an hour from a bucket it never read, for a day. Moves bytes_excess and
    /// reads_excess in every window (against its habit of the days before), bucket_novelty in
    /// the first.
    SlowExfiltration,
}

/// Every scenario.
pub const ALL: &[Scenario] = &[
    Scenario::StolenKeyRecon,
    Scenario::PermissionEnumeration,
    Scenario::ConsoleNoMfa,
    Scenario::OffensiveAgent,
    Scenario::IamPersistence,
    Scenario::DefenseEvasion,
    Scenario::S3Exfiltration,
    Scenario::CryptoMining,
    Scenario::LowAndSlowRecon,
    Scenario::ConsoleBruteForce,
    Scenario::BulkDownload,
    Scenario::SlowExfiltration,
];

impl Scenario {
    /// The scenario's id in labels and `--attacks`.
    pub fn id(self) -> &'static str {
        match self {
            Scenario::StolenKeyRecon => "stolen-key-recon",
            Scenario::PermissionEnumeration => "permission-enumeration",
            Scenario::ConsoleNoMfa => "console-no-mfa",
            Scenario::OffensiveAgent => "offensive-agent",
            Scenario::IamPersistence => "iam-persistence",
            Scenario::DefenseEvasion => "defense-evasion",
            Scenario::S3Exfiltration => "s3-exfiltration",
            Scenario::CryptoMining => "crypto-mining",
            Scenario::LowAndSlowRecon => "low-and-slow-recon",
            Scenario::ConsoleBruteForce => "console-brute-force",
            Scenario::BulkDownload => "bulk-download",
            Scenario::SlowExfiltration => "slow-exfiltration",
        }
    }

    /// Scenarios from `--attacks`: `all`, `none`, or ids separated by commas.
    pub fn parse_list(s: &str) -> Result<Vec<Scenario>, String> {
        match s {
            "all" => Ok(ALL.to_vec()),
            "none" => Ok(vec![]),
            _ => s
                .split(',')
                .map(|id| ALL.iter().copied().find(|sc| sc.id() == id.trim()).ok_or_else(|| unknown(id)))
                .collect(),
        }
    }

    /// How long the scenario runs, so schedulers can keep it inside the generated period.
    pub fn span(self) -> i64 {
        match self {
            Scenario::LowAndSlowRecon => 2 * 86_400,
            Scenario::SlowExfiltration => 86_400,
            Scenario::IamPersistence => 3 * 3600,
            _ => 3600,
        }
    }
}

fn unknown(id: &str) -> String {
    let ids: Vec<&str> = ALL.iter().map(|s| s.id()).collect();
    format!("unknown scenario '{id}'; known: {}, or all / none", ids.join(", "))
}

/// Records of one instance, with their times. `n` numbers the instance so repeated instances
/// use different victims and addresses.
pub fn events(s: Scenario, t0: i64, n: u64, rng: &mut SmallRng) -> Vec<(i64, Record)> {
    let mut out = Vec::new();
    let net = HOSTILE_NETS[(n as usize + s as usize) % HOSTILE_NETS.len()];
    let ip = format!("{net}{}", rng.gen_range(2..250));
    let victim = USERS[(n as usize * 3 + s as usize) % USERS.len()].0;
    let dev = |key_seed: u64| build::iam_user(victim, &access_key("AKIA", key_seed));
    let victim_idx = USERS.iter().position(|u| u.0 == victim).unwrap_or(0) as u64;
    // The victim's real long-term key, so access-key grouping sees the theft too.
    let stolen = dev(1000 + victim_idx);
    let push = |out: &mut Vec<(i64, Record)>, t: i64, who: &Arc<Identity>, c: Call1, rng: &mut SmallRng| {
        out.push((t, record(rng, t, who, c)));
    };
    match s {
        Scenario::StolenKeyRecon => {
            push(
                &mut out,
                t0,
                &stolen,
                Call1::new(("sts.amazonaws.com", "GetCallerIdentity", true, false), "us-east-1", &ip, KALI_AGENT),
                rng,
            );
            for i in 0..150 {
                let call = RECON_CALLS[rng.gen_range(0..RECON_CALLS.len())];
                let mut c = Call1::new(call, "us-east-1", &ip, KALI_AGENT);
                if rng.gen_bool(0.15) {
                    c.error = Some(build::denied(&call));
                }
                push(&mut out, t0 + 5 + i * 8, &stolen, c, rng);
            }
        }
        Scenario::PermissionEnumeration => {
            let ci =
                build::assumed_role("ci-deploy", "GitHubActions-leaked", &access_key("ASIA", 2000), false, t0 - 600);
            for i in 0..400 {
                let call = if i % 3 == 0 {
                    RECON_CALLS[rng.gen_range(0..RECON_CALLS.len())]
                } else {
                    OPS_CALLS[rng.gen_range(0..OPS_CALLS.len())]
                };
                let mut c = Call1::new(call, "us-east-1", &ip, ENUM_AGENT);
                if rng.gen_bool(0.85) {
                    c.error = Some(build::denied(&call));
                }
                push(&mut out, t0 + i * 3 / 4, &ci, c, rng);
            }
        }
        Scenario::ConsoleNoMfa => {
            let tz = USERS[victim_idx as usize].1;
            // 03:00 in the victim's time zone, on the day of t0.
            let t = t0.div_euclid(86_400) * 86_400 + (3 - i64::from(tz)).rem_euclid(24) * 3600 + 600;
            let who = build::iam_user(victim, &access_key("ASIA", 777 + n));
            out.push((t, login(rng, t, &who, &ip, CONSOLE_AGENTS[1], true, false)));
            for (i, call) in
                [RECON_CALLS[0], RECON_CALLS[1], RECON_CALLS[5], RECON_CALLS[6], RECON_CALLS[12]].iter().enumerate()
            {
                push(
                    &mut out,
                    t + 60 + i as i64 * 40,
                    &who,
                    Call1::new(*call, "us-east-1", &ip, CONSOLE_AGENTS[1]),
                    rng,
                );
            }
        }
        Scenario::OffensiveAgent => {
            let who = build::assumed_role("orders-api-role", "orders-api", &access_key("ASIA", 3000), false, t0 - 3000);
            let calls =
                [RECON_CALLS[5], RECON_CALLS[0], RECON_CALLS[1], RECON_CALLS[12], RECON_CALLS[13], RECON_CALLS[10]];
            for i in 0..40 {
                let call = if i % 8 == 7 {
                    ("secretsmanager.amazonaws.com", "GetSecretValue", true, false)
                } else {
                    calls[i % calls.len()]
                };
                let mut c = Call1::new(call, "us-east-1", &ip, PACU_AGENT);
                if call.0 == "iam.amazonaws.com" {
                    c.error = Some(build::denied(&call));
                }
                push(&mut out, t0 + i as i64 * 20, &who, c, rng);
            }
        }
        Scenario::IamPersistence => {
            let new_user = format!("svc-backup-{}", 100 + n);
            let steps: [(&str, serde_json::Value); 4] = [
                ("CreateUser", json!({"userName": new_user})),
                ("CreateAccessKey", json!({"userName": new_user})),
                (
                    "AttachUserPolicy",
                    json!({"userName": new_user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                ),
                ("CreateLoginProfile", json!({"userName": new_user, "passwordResetRequired": false})),
            ];
            for (i, (name, params)) in steps.into_iter().enumerate() {
                let mut c = Call1::new(("iam.amazonaws.com", name, false, false), "us-east-1", &ip, KALI_AGENT);
                c.params = Some(params);
                push(&mut out, t0 + 30 * i as i64, &stolen, c, rng);
            }
            let backdoor = build::iam_user(&new_user, &access_key("AKIA", 9000 + n));
            for i in 0..12 {
                let call = RECON_CALLS[i % 8];
                push(
                    &mut out,
                    t0 + 7200 + 45 * i as i64,
                    &backdoor,
                    Call1::new(call, "us-east-1", &ip, KALI_AGENT),
                    rng,
                );
            }
        }
        Scenario::DefenseEvasion => {
            let steps = [
                ("guardduty.amazonaws.com", "ListDetectors", true),
                ("guardduty.amazonaws.com", "DeleteDetector", false),
                ("cloudtrail.amazonaws.com", "DescribeTrails", true),
                ("cloudtrail.amazonaws.com", "PutEventSelectors", false),
                ("cloudtrail.amazonaws.com", "StopLogging", false),
                ("cloudtrail.amazonaws.com", "DeleteTrail", false),
                ("ec2.amazonaws.com", "DescribeFlowLogs", true),
                ("ec2.amazonaws.com", "DeleteFlowLogs", false),
                ("config.amazonaws.com", "StopConfigurationRecorder", false),
            ];
            for (i, (src, name, read)) in steps.into_iter().enumerate() {
                let mut c = Call1::new((src, name, read, false), "us-east-1", &ip, KALI_AGENT);
                if name == "PutEventSelectors" {
                    c.params = Some(
                        json!({"trailName": "org-trail", "eventSelectors": [{"readWriteType": "ReadOnly", "includeManagementEvents": false}]}),
                    );
                }
                push(&mut out, t0 + 20 * i as i64, &stolen, c, rng);
            }
        }
        Scenario::S3Exfiltration => {
            push(
                &mut out,
                t0,
                &stolen,
                Call1::new(("s3.amazonaws.com", "ListBuckets", true, false), "us-east-1", &ip, S3_BROWSER_AGENT),
                rng,
            );
            for i in 0..800 {
                let mut c =
                    Call1::new(("s3.amazonaws.com", "GetObject", true, true), "us-east-1", &ip, S3_BROWSER_AGENT);
                c.params = Some(
                    json!({"bucketName": "customer-exports", "key": format!("exports/2024/customers-{i:05}.csv.gz")}),
                );
                push(&mut out, t0 + 10 + i * 2, &stolen, c, rng);
            }
            let mut c =
                Call1::new(("s3.amazonaws.com", "PutBucketPolicy", false, false), "us-east-1", &ip, S3_BROWSER_AGENT);
            c.params = Some(json!({"bucketName": "customer-exports", "bucketPolicy": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::customer-exports/*"}]}}));
            push(&mut out, t0 + 1700, &stolen, c, rng);
        }
        Scenario::CryptoMining => {
            push(
                &mut out,
                t0,
                &stolen,
                Call1::new(("ec2.amazonaws.com", "DescribeRegions", true, false), "us-east-1", &ip, KALI_AGENT),
                rng,
            );
            for (i, region) in UNUSED_REGIONS.iter().enumerate() {
                let t = t0 + 60 + 120 * i as i64;
                push(
                    &mut out,
                    t,
                    &stolen,
                    Call1::new(("ec2.amazonaws.com", "CreateKeyPair", false, false), region, &ip, KALI_AGENT),
                    rng,
                );
                for j in 0..5 {
                    let mut c =
                        Call1::new(("ec2.amazonaws.com", "RunInstances", false, false), region, &ip, KALI_AGENT);
                    c.params = Some(json!({"instanceType": (["p3.16xlarge", "g4dn.12xlarge", "p4d.24xlarge"][j % 3]),
                        "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 10, "maxCount": 20}]}}));
                    if j % 2 == 0 {
                        c.error = Some(match j {
                            0 => (
                                "Client.VcpuLimitExceeded".into(),
                                "You have requested more vCPU capacity than your current vCPU limit allows".into(),
                            ),
                            2 => (
                                "Server.InsufficientInstanceCapacity".into(),
                                "We currently do not have sufficient capacity".into(),
                            ),
                            _ => (
                                "Client.UnauthorizedOperation".into(),
                                "You are not authorized to perform this operation.".into(),
                            ),
                        });
                    }
                    push(&mut out, t + 10 + j as i64 * 15, &stolen, c, rng);
                }
            }
        }
        Scenario::LowAndSlowRecon => {
            for h in 0..48 {
                for k in 0..rng.gen_range(2..4) {
                    let call = RECON_CALLS[rng.gen_range(0..RECON_CALLS.len())];
                    let t = t0 + h * 3600 + k * 1100 + rng.gen_range(0..600);
                    push(&mut out, t, &stolen, Call1::new(call, "us-east-1", &ip, CLI_AGENTS[1]), rng);
                }
            }
        }
        Scenario::ConsoleBruteForce => {
            for i in 0..60 {
                let name = USERS[i % 8].0;
                let who = Arc::new(Identity {
                    kind: "IAMUser",
                    principal_id: None,
                    arn: None,
                    account_id: Some(ACCOUNT.into()),
                    access_key_id: None,
                    user_name: Some(name.into()),
                    session_context: None,
                    invoked_by: None,
                });
                let t = t0 + i as i64 * 7;
                out.push((t, login(rng, t, &who, &ip, CONSOLE_AGENTS[0], false, false)));
            }
        }
        Scenario::BulkDownload => {
            let tz = USERS[victim_idx as usize].1;
            // 10:00 in the victim's time zone, on the day of t0, from the office.
            let t = t0.div_euclid(86_400) * 86_400 + (10 - i64::from(tz)).rem_euclid(24) * 3600;
            let office = format!("198.51.100.{}", 10 + victim_idx % 3);
            let agent = CLI_AGENTS[1];
            for (i, bucket) in ["customer-exports", "finance-archive"].iter().enumerate() {
                let mut c = Call1::new(("s3.amazonaws.com", "ListObjects", true, true), "us-east-1", &office, agent);
                c.params = Some(json!({"bucketName": bucket, "prefix": ""}));
                push(&mut out, t + i as i64 * 900, &stolen, c, rng);
            }
            for i in 0..1000 {
                let bucket = if i % 3 == 0 { "finance-archive" } else { "customer-exports" };
                push(
                    &mut out,
                    t + 5 + i * 2,
                    &stolen,
                    object_read(&office, agent, bucket, i, (5_000_000, 60_000_000)),
                    rng,
                );
            }
        }
        Scenario::SlowExfiltration => {
            let who =
                build::assumed_role("nightly-report-role", "nightly-report", &access_key("ASIA", 3002), false, t0);
            let home = "3.82.31.42";
            for h in 0..24 {
                for k in 0..rng.gen_range(25..35) {
                    let t = t0 + h * 3600 + k * 100 + rng.gen_range(0..60);
                    let i = h * 100 + k;
                    push(
                        &mut out,
                        t,
                        &who,
                        object_read(home, LAMBDA_AGENT, "customer-exports", i, (20_000_000, 80_000_000)),
                        rng,
                    );
                }
            }
        }
    }
    out
}

/// A successful GetObject of object `i` of `bucket`, of a size within `sizes`.
fn object_read<'a>(ip: &'a str, agent: &'a str, bucket: &str, i: i64, sizes: (u64, u64)) -> Call1<'a> {
    let key = format!("exports/{bucket}/{i:06}.csv.gz");
    let mut c = Call1::new(("s3.amazonaws.com", "GetObject", true, true), "us-east-1", ip, agent);
    c.extra = Some(build::s3_transfer(0, build::object_size(&key, sizes.0, sizes.1)));
    c.params = Some(json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com")}));
    c
}
