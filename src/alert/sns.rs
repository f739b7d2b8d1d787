//! SNS: Publish with `aws-sdk-sns` and the standard credential chain. The message is the
//! alert document; `severity`, `principal` and `alert_id` are message attributes, so
//! subscriptions can filter on them.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::Value;

use super::deliver::{Failure, Sink};
use crate::text::truncate;

/// SNS takes at most 256 KiB, attributes included; the document is kept well under it.
pub const MAX_MESSAGE: usize = 240 << 10;

/// An SNS topic.
pub struct Sns {
    rt: tokio::runtime::Runtime,
    client: Client,
    topic: String,
}

/// The region of a topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`), if it is one.
pub fn topic_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 6 && parts[0] == "arn" && parts[2] == "sns" && !parts[3].is_empty() && !parts[5].is_empty())
        .then(|| parts[3])
}

impl Sns {
    /// A sink publishing to `topic` with the standard chain (`profile` if given), in the
    /// topic's region; `AWS_ENDPOINT_URL_SNS` points it elsewhere, as for any SDK.
    pub fn new(topic: &str, profile: Option<&str>) -> anyhow::Result<Sns> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let region = topic_region(topic).ok_or_else(|| anyhow::anyhow!("{topic}: not an SNS topic ARN"))?.to_owned();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new(region));
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let conf = rt.block_on(loader.load());
        Ok(Self::with_config(rt, &conf, topic))
    }

    /// A sink with a configuration made elsewhere (tests give an endpoint and keys).
    pub fn with_config(rt: tokio::runtime::Runtime, conf: &aws_config::SdkConfig, topic: &str) -> Sns {
        Sns { rt, client: Client::new(conf), topic: topic.to_owned() }
    }
}

/// The document within [`MAX_MESSAGE`]: whole when it fits; otherwise without its features
/// and reasons, then with its long strings cut.
pub fn fit(v: &Value) -> String {
    let whole = v.to_string();
    if whole.len() <= MAX_MESSAGE {
        return whole;
    }
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("features");
        m.remove("reasons");
        m.insert("trimmed".into(), Value::Bool(true));
        for val in m.values_mut() {
            if let Value::String(s) = val {
                *s = truncate(s, 1024).into_owned();
            }
        }
        if let Some(Value::Array(a)) = m.get_mut("sigma") {
            a.truncate(20);
        }
        if let Some(Value::Array(a)) = m.get_mut("top_events") {
            a.truncate(10);
        }
    }
    v.to_string()
}

fn attr(value: &str) -> Option<MessageAttributeValue> {
    // An attribute may not be empty.
    let value = if value.is_empty() { "-" } else { value };
    MessageAttributeValue::builder().data_type("String").string_value(truncate(value, 256)).build().ok()
}

impl Sink for Sns {
    fn send(&mut self, doc: &str) -> Result<(), Failure> {
        let v = super::deliver::parse_doc(doc)?;
        let s = |k: &str| crate::parse::sanitize::clean_owned(super::doc::text(&v, k));
        let mut req = self.client.publish().topic_arn(&self.topic).message(fit(&v));
        for (k, val) in [("severity", s("severity")), ("principal", s("principal")), ("alert_id", s("alert_id"))] {
            if let Some(a) = attr(&val) {
                req = req.message_attributes(k, a);
            }
        }
        match self.rt.block_on(req.send()) {
            Ok(_) => Ok(()),
            Err(e) => {
                use aws_sdk_sns::error::ProvideErrorMetadata;
                let code = e.code().unwrap_or("").to_owned();
                let why = format!("sns:Publish: {}", aws_smithy_types::error::display::DisplayErrorContext(&e));
                // A message SNS calls invalid stays invalid; anything else (throttling, a
                // topic or permission being set up, the network) may pass.
                if code.starts_with("InvalidParameter") { Err(Failure::Refused(why)) } else { Err(Failure::retry(why)) }
            }
        }
    }
}
