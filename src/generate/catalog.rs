//! The API calls, user agents and address pools the synthetic account is made of.

/// An API call: service host, event name, read-only, data event.
pub type Call = (&'static str, &'static str, bool, bool);

pub const DEV_CALLS: &[Call] = &[
    ("ec2.amazonaws.com", "DescribeInstances", true, false),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", true, false),
    ("ec2.amazonaws.com", "DescribeVpcs", true, false),
    ("ec2.amazonaws.com", "DescribeSubnets", true, false),
    ("s3.amazonaws.com", "ListBuckets", true, false),
    ("s3.amazonaws.com", "GetBucketLocation", true, false),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "PutObject", false, true),
    ("lambda.amazonaws.com", "ListFunctions20150331", true, false),
    ("lambda.amazonaws.com", "GetFunction20150331v2", true, false),
    ("logs.amazonaws.com", "DescribeLogGroups", true, false),
    ("logs.amazonaws.com", "FilterLogEvents", true, false),
    ("logs.amazonaws.com", "GetLogEvents", true, false),
    ("cloudformation.amazonaws.com", "DescribeStacks", true, false),
    ("cloudformation.amazonaws.com", "DescribeStackEvents", true, false),
    ("sts.amazonaws.com", "GetCallerIdentity", true, false),
    ("ecr.amazonaws.com", "DescribeRepositories", true, false),
    ("dynamodb.amazonaws.com", "DescribeTable", true, false),
    ("monitoring.amazonaws.com", "GetMetricData", true, false),
    ("ssm.amazonaws.com", "GetParameter", true, false),
    ("kms.amazonaws.com", "Decrypt", true, false),
    ("iam.amazonaws.com", "GetUser", true, false),
    ("ec2.amazonaws.com", "StartInstances", false, false),
    ("ec2.amazonaws.com", "StopInstances", false, false),
    ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", false, false),
];

pub const CI_CALLS: &[Call] = &[
    ("sts.amazonaws.com", "GetCallerIdentity", true, false),
    ("s3.amazonaws.com", "PutObject", false, true),
    ("s3.amazonaws.com", "ListObjects", true, true),
    ("cloudformation.amazonaws.com", "CreateChangeSet", false, false),
    ("cloudformation.amazonaws.com", "DescribeChangeSet", true, false),
    ("cloudformation.amazonaws.com", "ExecuteChangeSet", false, false),
    ("cloudformation.amazonaws.com", "DescribeStacks", true, false),
    ("cloudformation.amazonaws.com", "DescribeStackEvents", true, false),
    ("ecr.amazonaws.com", "GetAuthorizationToken", true, false),
    ("ecr.amazonaws.com", "BatchCheckLayerAvailability", true, false),
    ("ecr.amazonaws.com", "InitiateLayerUpload", false, false),
    ("ecr.amazonaws.com", "PutImage", false, false),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", false, false),
    ("iam.amazonaws.com", "GetRole", true, false),
];

pub const LAMBDA_CALLS: &[Call] = &[
    ("dynamodb.amazonaws.com", "GetItem", true, true),
    ("dynamodb.amazonaws.com", "PutItem", false, true),
    ("dynamodb.amazonaws.com", "Query", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("kms.amazonaws.com", "Decrypt", true, false),
    ("secretsmanager.amazonaws.com", "GetSecretValue", true, false),
    ("logs.amazonaws.com", "CreateLogStream", false, false),
];

/// A bulk reader: mostly object reads, a listing now and then.
pub const BULK_CALLS: &[Call] = &[
    ("s3.amazonaws.com", "ListObjects", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
    ("s3.amazonaws.com", "GetObject", true, true),
];

pub const SERVICE_CALLS: &[Call] = &[
    ("sts.amazonaws.com", "AssumeRole", true, false),
    ("kms.amazonaws.com", "GenerateDataKey", true, false),
    ("kms.amazonaws.com", "Decrypt", true, false),
    ("ec2.amazonaws.com", "DescribeInstanceStatus", true, false),
    ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", true, false),
    ("config.amazonaws.com", "PutEvaluations", false, false),
];

/// A monitoring tool whose policy lags behind what it asks for: benign AccessDenied all day.
pub const MONITOR_CALLS: &[Call] = &[
    ("monitoring.amazonaws.com", "DescribeAlarms", true, false),
    ("ec2.amazonaws.com", "DescribeInstances", true, false),
    ("iam.amazonaws.com", "ListAccountAliases", true, false),
    ("organizations.amazonaws.com", "DescribeOrganization", true, false),
    ("health.amazonaws.com", "DescribeEvents", true, false),
];

/// A platform admin working through SSO: benign, and full of sensitive calls.
pub const OPS_CALLS: &[Call] = &[
    ("iam.amazonaws.com", "ListUsers", true, false),
    ("iam.amazonaws.com", "ListRoles", true, false),
    ("iam.amazonaws.com", "GetRole", true, false),
    ("iam.amazonaws.com", "CreateRole", false, false),
    ("iam.amazonaws.com", "AttachRolePolicy", false, false),
    ("iam.amazonaws.com", "PutRolePolicy", false, false),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy", false, false),
    ("iam.amazonaws.com", "CreateAccessKey", false, false),
    ("iam.amazonaws.com", "DeleteAccessKey", false, false),
    ("cloudtrail.amazonaws.com", "DescribeTrails", true, false),
    ("cloudtrail.amazonaws.com", "GetTrailStatus", true, false),
    ("guardduty.amazonaws.com", "ListFindings", true, false),
    ("guardduty.amazonaws.com", "GetFindings", true, false),
    ("kms.amazonaws.com", "CreateKey", false, false),
];

pub const ROOT_CALLS: &[Call] = &[
    ("billingconsole.amazonaws.com", "GetBillingData", true, false),
    ("account.amazonaws.com", "GetContactInformation", true, false),
    ("iam.amazonaws.com", "GetAccountSummary", true, false),
];

/// Broad discovery, as stolen-credential tooling does it.
pub const RECON_CALLS: &[Call] = &[
    ("iam.amazonaws.com", "ListUsers", true, false),
    ("iam.amazonaws.com", "ListRoles", true, false),
    ("iam.amazonaws.com", "ListPolicies", true, false),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails", true, false),
    ("iam.amazonaws.com", "ListAttachedUserPolicies", true, false),
    ("s3.amazonaws.com", "ListBuckets", true, false),
    ("ec2.amazonaws.com", "DescribeInstances", true, false),
    ("ec2.amazonaws.com", "DescribeRegions", true, false),
    ("ec2.amazonaws.com", "DescribeSnapshots", true, false),
    ("ec2.amazonaws.com", "DescribeKeyPairs", true, false),
    ("lambda.amazonaws.com", "ListFunctions20150331", true, false),
    ("rds.amazonaws.com", "DescribeDBInstances", true, false),
    ("secretsmanager.amazonaws.com", "ListSecrets", true, false),
    ("ssm.amazonaws.com", "DescribeParameters", true, false),
    ("dynamodb.amazonaws.com", "ListTables", true, false),
    ("sns.amazonaws.com", "ListTopics", true, false),
    ("sqs.amazonaws.com", "ListQueues", true, false),
    ("cloudtrail.amazonaws.com", "DescribeTrails", true, false),
    ("guardduty.amazonaws.com", "ListDetectors", true, false),
    ("organizations.amazonaws.com", "DescribeOrganization", true, false),
    ("kms.amazonaws.com", "ListKeys", true, false),
    ("ecr.amazonaws.com", "DescribeRepositories", true, false),
    ("eks.amazonaws.com", "ListClusters", true, false),
    ("route53.amazonaws.com", "ListHostedZones", true, false),
];

pub const CLI_AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ec2.describe-instances",
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-26-generic exe/x86_64.ubuntu.22 prompt/off",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.152.0",
];

pub const CONSOLE_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0",
];

pub const CI_AGENT: &str = "aws-cli/2.15.31 Python/3.11.8 Linux/6.5.0-1016-azure exe/x86_64.ubuntu.22 prompt/off command/cloudformation.deploy";
pub const LAMBDA_AGENT: &str = "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.210-220.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42";
pub const MONITOR_AGENT: &str = "aws-sdk-go/1.50.38 (go1.21.8; linux; amd64) datadog-agent";

pub const KALI_AGENT: &str = "aws-cli/2.13.0 Python/3.11.4 Linux/6.3.0-kali1-amd64 exe/x86_64.kali.2023 prompt/off";
pub const PACU_AGENT: &str = "Boto3/1.26.90 Python/3.11.2 Linux/6.1.0-kali5-amd64 Botocore/1.29.90 Pacu/1.5.1";
pub const ENUM_AGENT: &str = "Boto3/1.9.163 Python/3.8.10 Linux/5.4.0-150-generic Botocore/1.12.163 enumerate-iam";
pub const S3_BROWSER_AGENT: &str = "S3 Browser/11.5.7 https://s3browser.com";

/// Attacker infrastructure: VPS and anonymising ranges, never used by the benign population.
pub const HOSTILE_NETS: &[&str] = &["45.155.205.", "185.220.101.", "193.142.146.", "91.219.236.", "5.188.86."];

pub const USERS: &[(&str, i32)] = &[
    ("alice", 0),
    ("bob", 0),
    ("carol", 1),
    ("dave", -5),
    ("erin", -5),
    ("frank", -8),
    ("grace", 1),
    ("heidi", 2),
    ("ivan", 2),
    ("judy", -5),
    ("mike", 0),
    ("niaj", 5),
];

pub const UNUSED_REGIONS: &[&str] =
    &["ap-southeast-2", "sa-east-1", "ap-northeast-3", "me-south-1", "af-south-1", "eu-north-1"];
