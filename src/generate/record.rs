//! The CloudTrail record as the generator writes it: the real schema, field for field, in the
//! order CloudTrail uses.

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TlsDetails {
    pub tls_version: &'static str,
    pub cipher_suite: &'static str,
    pub client_provided_host_header: String,
}

/// A CloudTrail record in CloudTrail's own field names.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `eventVersion`.
    pub event_version: &'static str,
    /// Shared: a session's records all carry the same identity.
    pub user_identity: std::sync::Arc<Identity>,
    /// `eventTime`, RFC 3339.
    pub event_time: String,
    /// `eventSource`.
    pub event_source: String,
    /// `eventName`.
    pub event_name: String,
    /// `awsRegion`.
    pub aws_region: String,
    /// `sourceIPAddress`.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// `userAgent`.
    pub user_agent: String,
    /// `errorCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `errorMessage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `requestParameters`.
    pub request_parameters: Option<Value>,
    /// `responseElements`.
    pub response_elements: Option<Value>,
    /// `additionalEventData`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    /// `requestID`.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// `eventID`.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `readOnly`.
    pub read_only: bool,
    /// `eventType`.
    pub event_type: &'static str,
    /// `managementEvent`.
    pub management_event: bool,
    /// `recipientAccountId`.
    pub recipient_account_id: String,
    /// `eventCategory`.
    pub event_category: &'static str,
    /// `tlsDetails`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
}
