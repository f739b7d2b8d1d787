//! Who acted: the identity block of a record, and the principal trailtop derives from it.

use std::borrow::Cow;

use serde::Deserialize;

use super::lenient::{Object, Text};
use super::sanitize::clean;

/// `userIdentity` as it comes.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct WireIdentity<'a> {
    #[serde(borrow, rename = "type")]
    pub(super) kind: Text<'a>,
    #[serde(borrow)]
    pub(super) arn: Text<'a>,
    #[serde(borrow)]
    pub(super) principal_id: Text<'a>,
    #[serde(borrow)]
    pub(super) account_id: Text<'a>,
    #[serde(borrow)]
    pub(super) access_key_id: Text<'a>,
    #[serde(borrow)]
    pub(super) user_name: Text<'a>,
    #[serde(borrow)]
    pub(super) invoked_by: Text<'a>,
    #[serde(borrow)]
    pub(super) session_context: Object<'a>,
}

/// `userIdentity.sessionContext`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct WireSession<'a> {
    #[serde(borrow)]
    pub(super) attributes: Object<'a>,
    #[serde(borrow)]
    pub(super) session_issuer: Object<'a>,
}

/// `sessionContext.attributes`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct WireAttributes<'a> {
    #[serde(borrow)]
    pub(super) mfa_authenticated: Text<'a>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireIssuer<'a> {
    #[serde(borrow)]
    pub(super) arn: Text<'a>,
    #[serde(borrow, rename = "type")]
    pub(super) kind: Text<'a>,
}

/// What became of a record's `userIdentity.arn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKept {
    /// The record has none.
    Absent,
    /// It is [`Event::principal`], unchanged.
    AsPrincipal,
    /// It had characters that were cleaned out of the principal: only the raw record has it.
    Altered,
}

/// The principal of a record: `userIdentity.arn` when present. Otherwise, in order:
/// `root:<account>` for Root, `service:<invokedBy>` for AWSService, the session issuer's ARN
/// for an assumed role, `account:<id>` for a cross-account AWSAccount caller, `anonymous`,
/// `principal-id:<id>`, `user:<name>`, and finally `unknown`.
/// Also says what became of the ARN, from the one cleaning it takes.
pub(super) fn principal_of(id: &WireIdentity, issuer_arn: Option<&str>) -> (String, ArnKept) {
    if let Some(arn) = id.arn.as_str() {
        return match clean(arn) {
            Cow::Borrowed(a) => (a.to_owned(), ArnKept::AsPrincipal),
            Cow::Owned(a) => (a, ArnKept::Altered),
        };
    }
    let kind = id.kind.as_str().unwrap_or("");
    let fallback = match kind {
        "Root" => id.account_id.as_str().map(|a| format!("root:{a}")),
        "AWSService" => id.invoked_by.as_str().map(|s| format!("service:{s}")),
        "AssumedRole" => issuer_arn.map(str::to_owned),
        "AWSAccount" => id.account_id.as_str().map(|a| format!("account:{a}")),
        "Anonymous" => Some("anonymous".to_owned()),
        _ => None,
    };
    let fallback = fallback
        .or_else(|| id.principal_id.as_str().map(|p| format!("principal-id:{p}")))
        .or_else(|| id.user_name.as_str().map(|u| format!("user:{u}")))
        .unwrap_or_else(|| if kind.is_empty() { "unknown".into() } else { format!("type:{kind}") });
    (clean(&fallback).into_owned(), ArnKept::Absent)
}
