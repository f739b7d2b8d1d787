//! The benign population of the synthetic account and its rhythm.
//!
//! - 12 developers (IAM users) in several time zones: console and CLI in office hours on
//!   weekdays, an office and a home address each, now and then a scripted burst of Describe
//!   calls, ~3% benign AccessDenied.
//! - A CI role assumed by GitHub Actions: a run every two hours on weekdays, each run a new
//!   session name and a new runner address from a large pool.
//! - Lambda execution roles and AWS services around the clock, from AWS addresses.
//! - A monitoring agent whose policy lags behind it: AccessDenied all day, every day.
//! - A platform admin through SSO making IAM changes in office hours (benign sensitive calls).
//! - A federated vendor integration every six hours; the root user on Monday mornings.
//! - Bulk jobs on EC2 that read gigabytes from S3 on a schedule: a nightly backup and a model
//!   training run every eight hours (benign volume the data features must learn as habit).

use std::sync::Arc;

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

use super::build::{self, Call1, access_key, record};
use super::catalog::*;
use super::record::{Identity, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Developer,
    Ci,
    Lambda,
    Service(&'static str),
    Monitor,
    Ops,
    Root,
    Federated,
    Bulk(&'static BulkJob),
}

/// A scheduled job that reads many large objects.
#[derive(Debug, PartialEq, Eq)]
pub struct BulkJob {
    /// It runs in the UTC hours where `hour % every == at`.
    pub every: i64,
    pub at: i64,
    pub role: &'static str,
    pub session: &'static str,
    pub agent: &'static str,
    pub buckets: &'static [&'static str],
    /// Object sizes, bytes.
    pub sizes: (u64, u64),
}

pub const BACKUP: BulkJob = BulkJob {
    every: 24,
    at: 2,
    role: "backup-nightly-role",
    session: "i-0a1b2c3d4e5f60718",
    agent: "rclone/v1.66.0",
    buckets: &["data-lake-raw", "app-artifacts", "team-reports"],
    sizes: (20_000_000, 200_000_000),
};

pub const TRAINING: BulkJob = BulkJob {
    every: 8,
    at: 4,
    role: "ml-training-role",
    session: "SageMaker",
    agent: "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.10.14 exec-env/AWS_ECS_EC2 Botocore/1.34.69",
    buckets: &["ml-datasets"],
    sizes: (50_000_000, 500_000_000),
};

pub struct Actor {
    pub kind: Kind,
    pub name: String,
    /// Hours from UTC of the actor's working day.
    pub tz: i32,
    /// Relative events per active hour.
    pub weight: f64,
    pub calls: &'static [Call],
    pub ips: Vec<String>,
    pub key: String,
}

pub fn population() -> Vec<Actor> {
    let mut v = Vec::new();
    for (i, (name, tz)) in USERS.iter().enumerate() {
        v.push(Actor {
            kind: Kind::Developer,
            name: (*name).into(),
            tz: *tz,
            weight: 30.0 + 5.0 * (i % 4) as f64,
            calls: DEV_CALLS,
            // Office NAT first, then the home address.
            ips: vec![format!("198.51.100.{}", 10 + i % 3), format!("203.0.113.{}", 20 + i * 7)],
            key: access_key("AKIA", 1000 + i as u64),
        });
    }
    v.push(actor(Kind::Ci, "ci-deploy", 0, 120.0, CI_CALLS, vec![], 2000));
    for (i, f) in ["orders-api", "thumbnailer", "nightly-report"].iter().enumerate() {
        let ips = vec![format!("3.{}.{}.{}", 80 + i, 14 * i + 3, 40 + i)];
        v.push(actor(Kind::Lambda, f, 0, [40.0, 25.0, 6.0][i], LAMBDA_CALLS, ips, 3000 + i as u64));
    }
    for s in ["config.amazonaws.com", "autoscaling.amazonaws.com", "lambda.amazonaws.com"] {
        v.push(actor(Kind::Service(s), s, 0, 15.0, SERVICE_CALLS, vec![s.into()], 0));
    }
    v.push(actor(Kind::Monitor, "datadog-integration", 0, 20.0, MONITOR_CALLS, vec!["34.228.11.5".into()], 4000));
    v.push(actor(Kind::Ops, "alice@corp.example", 0, 12.0, OPS_CALLS, vec!["198.51.100.10".into()], 5000));
    v.push(actor(Kind::Federated, "vendor-backup", 0, 10.0, &DEV_CALLS[4..8], vec!["52.94.133.10".into()], 6000));
    v.push(actor(Kind::Root, "root", 0, 8.0, ROOT_CALLS, vec!["198.51.100.10".into()], 0));
    v.push(actor(Kind::Bulk(&BACKUP), "backup-nightly", 0, 120.0, BULK_CALLS, vec!["3.92.40.7".into()], 7000));
    v.push(actor(Kind::Bulk(&TRAINING), "ml-training", 0, 60.0, BULK_CALLS, vec!["3.93.17.88".into()], 7001));
    v
}

fn actor(kind: Kind, name: &str, tz: i32, weight: f64, calls: &'static [Call], ips: Vec<String>, key: u64) -> Actor {
    Actor { kind, name: name.into(), tz, weight, calls, ips, key: access_key("ASIA", key) }
}

/// A stable pseudo-random number in [0, 1) for (a, b): decides bursts and rare days the same
/// way whatever order hours are generated in.
pub fn unit_hash(a: u64, b: u64) -> f64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Actor {
    /// Expected activity in the hour starting at `hour` (Unix seconds), relative to `weight`.
    pub fn intensity(&self, idx: usize, hour: i64) -> f64 {
        let local = hour + i64::from(self.tz) * 3600;
        let h = local.rem_euclid(86_400) / 3600;
        // 1970-01-01 was a Thursday; 0 = Monday.
        let weekday = (local.div_euclid(86_400) + 3).rem_euclid(7);
        let workday = weekday < 5;
        let office = workday && (8..18).contains(&h);
        let day = hour.div_euclid(86_400) as u64;
        match self.kind {
            Kind::Developer => {
                let base = if office {
                    if h == 12 { 0.5 } else { 1.0 }
                } else if workday && (18..22).contains(&h) {
                    0.08
                } else {
                    0.01
                };
                // Now and then a script sweeps the account: a benign burst of calls.
                let burst = if office && unit_hash(idx as u64, hour as u64) < 0.02 { 8.0 } else { 1.0 };
                base * burst * self.weight
            }
            Kind::Ci => {
                if workday && (7..21).contains(&h) && h % 2 == 1 {
                    self.weight
                } else {
                    0.0
                }
            }
            Kind::Lambda | Kind::Service(_) => {
                let diurnal = 0.75 + 0.25 * ((h as f64 - 6.0) / 24.0 * std::f64::consts::TAU).sin();
                self.weight * diurnal
            }
            Kind::Monitor => self.weight,
            Kind::Ops => {
                if office && unit_hash(idx as u64 + 77, hour as u64) < 0.3 {
                    self.weight
                } else {
                    0.0
                }
            }
            Kind::Federated => {
                if h % 6 == 0 {
                    self.weight
                } else {
                    0.0
                }
            }
            Kind::Bulk(job) => {
                if hour.div_euclid(3600).rem_euclid(job.every) == job.at {
                    self.weight
                } else {
                    0.0
                }
            }
            Kind::Root => {
                // Billing on Monday mornings, and now and then on another day.
                if workday && h == 10 && (weekday == 0 || unit_hash(day, 991) < 0.03) { self.weight } else { 0.0 }
            }
        }
    }

    /// `n` records for this actor in the hour starting at `hour`.
    pub fn emit(&self, rng: &mut SmallRng, hour: i64, n: usize, out: &mut Vec<(i64, Record)>) {
        if n == 0 {
            return;
        }
        let local_h = (hour + i64::from(self.tz) * 3600).rem_euclid(86_400) / 3600;
        // One session per active hour: its start, length, address and client.
        let (start, len) = match self.kind {
            Kind::Ci => (hour + rng.gen_range(0..3000), 420),
            Kind::Developer | Kind::Ops | Kind::Root => (hour + rng.gen_range(0..900), rng.gen_range(1200..2700)),
            _ => (hour, 3600),
        };
        let len = len.min(hour + 3600 - start);
        let session = rng.gen_range(100_000..999_999);
        let console = matches!(self.kind, Kind::Root) || (self.kind == Kind::Developer && rng.gen_bool(0.35));
        let ip = match self.kind {
            Kind::Ci => format!("20.{}.{}.{}", rng.gen_range(1..250), rng.gen_range(0..255), rng.gen_range(1..255)),
            Kind::Developer if !(8..18).contains(&local_h) => self.ips[1].clone(),
            _ => self.ips[0].clone(),
        };
        let agent: &str = match self.kind {
            Kind::Developer if console => CONSOLE_AGENTS[self.name.len() % 2],
            Kind::Developer => CLI_AGENTS[(session as usize) % CLI_AGENTS.len()],
            Kind::Ci => CI_AGENT,
            Kind::Lambda => LAMBDA_AGENT,
            Kind::Service(s) => s,
            Kind::Monitor => MONITOR_AGENT,
            Kind::Ops | Kind::Root => CONSOLE_AGENTS[0],
            Kind::Federated => CLI_AGENTS[2],
            Kind::Bulk(job) => job.agent,
        };
        let who = self.identity(session, start, console);
        let region = |rng: &mut SmallRng| if rng.gen_bool(0.85) { "us-east-1" } else { "eu-west-1" };
        let mut first = console;
        for _ in 0..n {
            let t = start + rng.gen_range(0..len.max(1));
            if first {
                // A console session begins with a sign-in, with MFA.
                first = false;
                out.push((start, login(rng, start, &who, &ip, agent, true, true)));
                continue;
            }
            let call = self.calls[rng.gen_range(0..self.calls.len())];
            let mut c = Call1::new(call, region(rng), &ip, agent);
            let deny = match self.kind {
                Kind::Monitor => call.0 == "organizations.amazonaws.com" || call.0 == "health.amazonaws.com",
                Kind::Developer => rng.gen_bool(0.03),
                Kind::Ci => rng.gen_bool(0.01),
                _ => false,
            };
            if let Kind::Bulk(job) = self.kind {
                let bucket = job.buckets[rng.gen_range(0..job.buckets.len())];
                let key = format!("{}/part-{:05}.parquet", self.name, rng.gen_range(0..100_000));
                if call.1 == "GetObject" {
                    c.extra = Some(build::s3_transfer(0, build::object_size(&key, job.sizes.0, job.sizes.1)));
                }
                c.params = Some(
                    json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com")}),
                );
            }
            if deny {
                c.error = Some(build::denied(&call));
            } else if self.kind == Kind::Developer && call.1 == "GetObject" && rng.gen_bool(0.05) {
                c.error = Some(("NoSuchKey".into(), "The specified key does not exist.".into()));
            }
            out.push((t, record(rng, t, &who, c)));
        }
    }

    fn identity(&self, session: u32, start: i64, console: bool) -> Arc<Identity> {
        match self.kind {
            Kind::Developer => {
                let key = if console { access_key("ASIA", u64::from(session)) } else { self.key.clone() };
                build::iam_user(&self.name, &key)
            }
            Kind::Ci => build::assumed_role("ci-deploy", &format!("GitHubActions-{session}"), &self.key, false, start),
            Kind::Lambda => build::assumed_role(&format!("{}-role", self.name), &self.name, &self.key, false, start),
            Kind::Service(s) => build::service(s),
            Kind::Monitor => build::assumed_role("DatadogIntegrationRole", "datadog", &self.key, false, start),
            Kind::Ops => build::assumed_role(
                "aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_5f2c1b8a",
                &self.name,
                &self.key,
                true,
                start,
            ),
            Kind::Federated => build::federated(&self.name, &self.key),
            Kind::Root => build::root(),
            Kind::Bulk(job) => build::assumed_role(job.role, job.session, &self.key, false, start),
        }
    }
}

/// A `ConsoleLogin` record.
pub fn login(rng: &mut SmallRng, t: i64, who: &Arc<Identity>, ip: &str, agent: &str, ok: bool, mfa: bool) -> Record {
    let mut c = Call1::new(("signin.amazonaws.com", "ConsoleLogin", false, false), "us-east-1", ip, agent);
    c.response = Some(json!({"ConsoleLogin": if ok { "Success" } else { "Failure" }}));
    c.extra = Some(json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                          "MFAUsed": if mfa { "Yes" } else { "No" }}));
    if !ok {
        c.error = Some(("Failed authentication".into(), "Failed authentication".into()));
    }
    let mut r = record(rng, t, who, c);
    r.error_code = None; // CloudTrail puts a failed sign-in's reason in errorMessage only.
    if !ok {
        r.error_message = Some("Failed authentication".into());
    }
    r
}
