//! The session-chain pivot: an assumed-role (or federated) session traced back through the
//! events that created it (AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity,
//! GetFederationToken, IAM Identity Center's GetRoleCredentials) to the identity behind it,
//! with the `sourceIdentity` that names the person when one was set.

use std::sync::Arc;

use serde_json::Value;

use super::gather::{Gathered, by_principal, held};
use crate::parse::Event;
use crate::parse::time::format_utc;
use crate::pipeline::Snapshot;
use crate::text::{plural, short_principal};

/// Calls that hand out session credentials.
const CREATORS: &[&str] =
    &["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetFederationToken", "GetRoleCredentials"];

/// Links followed at most (a chain of roles assuming roles is rarely longer than three).
const MAX_LINKS: usize = 8;

/// Whether the credential call `v` (the whole record) created the session `arn`.
fn creates(v: &Value, arn: &str) -> bool {
    let resp = &v["responseElements"];
    for created in [&resp["assumedRoleUser"]["arn"], &resp["federatedUser"]["arn"]] {
        if created.as_str() == Some(arn) {
            return true;
        }
    }
    // Identity Center: the portal's GetRoleCredentials names the permission set and the
    // account; the session is `assumed-role/AWSReservedSSO_<set>_<hash>/<user name>`.
    if v["eventName"] == "GetRoleCredentials" {
        let (Some(role), Some(account)) =
            (v["requestParameters"]["roleName"].as_str(), v["requestParameters"]["accountId"].as_str())
        else {
            return false;
        };
        let user = v["userIdentity"]["userName"].as_str().unwrap_or("");
        let prefix = format!("arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}_");
        return !user.is_empty()
            && arn.starts_with(&prefix)
            && arn.rsplit_once('/').is_some_and(|(_, session)| session == user);
    }
    false
}

/// `sessionContext` facts of a session, from one of its records.
fn session_context(e: &Event) -> Option<Value> {
    let v: Value = serde_json::from_str(e.raw.as_deref()?).ok()?;
    Some(v["userIdentity"]["sessionContext"].clone()).filter(|c| !c.is_null())
}

/// The chain of `arn` over the held records: its records and those of every identity behind
/// it, the creating calls, and a summary that reads from the session back to its origin.
pub(super) fn gather(snap: &Snapshot, arn: &str) -> Gathered {
    // The credential calls held; each is parsed only when its text names the session sought
    // (a busy account holds thousands of AssumeRole calls by services).
    let creators: Vec<&Arc<Event>> =
        snap.tail.iter().filter(|e| CREATORS.contains(&&*e.name) && e.error_code.is_none()).collect();
    let mut chain = vec![arn.to_owned()];
    let mut links: Vec<(Arc<Event>, Option<String>)> = Vec::new();
    while links.len() < MAX_LINKS {
        let cur = chain.last().map(String::as_str).unwrap_or("");
        // The session's name is in the call's text either way: in the ARN of its response, or
        // as Identity Center's user name.
        let name = cur.rsplit('/').next().unwrap_or(cur);
        let found = creators
            .iter()
            .filter(|e| !name.is_empty() && e.raw.as_deref().is_some_and(|r| r.contains(name)))
            .filter_map(|e| Some((*e, serde_json::from_str::<Value>(e.raw.as_deref()?).ok()?)))
            .filter(|(_, v)| creates(v, cur))
            .max_by_key(|(e, _)| e.time);
        let Some((e, v)) = found else { break };
        let source_identity =
            v["requestParameters"]["sourceIdentity"].as_str().map(crate::parse::sanitize::clean_owned);
        links.push((Arc::clone(e), source_identity));
        if chain.iter().any(|c| **c == *e.principal) {
            break;
        }
        chain.push(e.principal.to_string());
    }
    let link_ids: Vec<&str> = links.iter().map(|(e, _)| &*e.id).collect();
    let events = held(snap, |e| chain.iter().any(|c| **c == *e.principal) || link_ids.contains(&&*e.id));
    let mut summary = vec!["session chain, from this session back to its origin:".to_owned()];
    let count = |p: &str| events.iter().filter(|e| *e.principal == *p).count() as u64;
    for (i, p) in chain.iter().enumerate() {
        summary.push(format!("  {}  ({})", short_principal(p), plural(count(p), "record")));
        match links.get(i) {
            Some((e, _)) => summary.push(format!(
                "    ← {} {} from {} ({})",
                e.name,
                format_utc(e.time, "%Y-%m-%d %H:%M:%S UTC"),
                e.ip,
                crate::text::truncate(&e.user_agent, 40)
            )),
            None => summary.extend(origin(&events, p)),
        }
    }
    let named = links.iter().find_map(|(_, s)| s.clone()).or_else(|| {
        let first = events.iter().find(|e| *e.principal == *arn)?;
        session_context(first)?["sourceIdentity"].as_str().map(crate::parse::sanitize::clean_owned)
    });
    summary.push(match named {
        Some(s) => format!("source identity: {s}"),
        None => "source identity: none set".into(),
    });
    summary.push(String::new());
    summary.extend(by_principal(&events, "along the chain"));
    Gathered { events, summary }
}

/// Where the chain ends: what the last identity's own records say about it.
fn origin(events: &[Arc<Event>], principal: &str) -> Vec<String> {
    let Some(e) = events.iter().find(|e| *e.principal == *principal) else { return Vec::new() };
    let mut lines = Vec::new();
    match session_context(e) {
        Some(c) if c["sessionIssuer"]["arn"].is_string() || c["attributes"]["creationDate"].is_string() => {
            let issuer = c["sessionIssuer"]["arn"].as_str().map(crate::parse::sanitize::clean_owned);
            let created = c["attributes"]["creationDate"].as_str().map(crate::parse::sanitize::clean_owned);
            lines.push(format!(
                "    ← created {} from {}; the call that created it is not among the records held",
                created.as_deref().unwrap_or("at an unknown time"),
                issuer.as_deref().map_or("an unknown issuer", short_principal)
            ));
        }
        _ => lines.push(format!("    (identity type {}: the origin)", e.identity_type)),
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::creates;

    fn v(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn each_credential_call_is_matched_to_the_session_it_made() {
        let session = "arn:aws:sts::1:assumed-role/deploy/gh-run-7";
        let assume = v(
            r#"{"eventName":"AssumeRoleWithWebIdentity","responseElements":{"assumedRoleUser":{"arn":"arn:aws:sts::1:assumed-role/deploy/gh-run-7"}}}"#,
        );
        assert!(creates(&assume, session));
        assert!(!creates(&assume, "arn:aws:sts::1:assumed-role/deploy/gh-run-8"));
        let federated = v(
            r#"{"eventName":"GetFederationToken","responseElements":{"federatedUser":{"arn":"arn:aws:sts::1:federated-user/bob"}}}"#,
        );
        assert!(creates(&federated, "arn:aws:sts::1:federated-user/bob"));
        // Identity Center: the permission set and the account in the request, the user's name.
        let sso = v(
            r#"{"eventName":"GetRoleCredentials","userIdentity":{"userName":"alice@corp.example"},"requestParameters":{"roleName":"Admin","accountId":"1"}}"#,
        );
        assert!(creates(&sso, "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@corp.example"));
        assert!(!creates(&sso, "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0123abcd/mallory@corp.example"));
        assert!(!creates(&sso, "arn:aws:sts::2:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@corp.example"));
        assert!(!creates(&sso, "arn:aws:sts::1:assumed-role/AWSReservedSSO_ReadOnly_0123abcd/alice@corp.example"));
    }
}
