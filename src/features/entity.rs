//! Who an entity is: the grouping key of the feature table.

use std::fmt;
use std::str::FromStr;

use crate::parse::Event;

/// How events are grouped into entities (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntityBy {
    /// The principal (`userIdentity.arn` or its fallback).
    Principal,
    /// The source address.
    Ip,
    /// The principal from one address.
    #[default]
    PrincipalIp,
    /// The access key.
    AccessKey,
}

impl FromStr for EntityBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "principal" => Ok(EntityBy::Principal),
            "ip" => Ok(EntityBy::Ip),
            "principal+ip" => Ok(EntityBy::PrincipalIp),
            "access-key" => Ok(EntityBy::AccessKey),
            other => Err(format!("'{other}' is not one of principal, ip, principal+ip, access-key")),
        }
    }
}

impl fmt::Display for EntityBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntityBy::Principal => "principal",
            EntityBy::Ip => "ip",
            EntityBy::PrincipalIp => "principal+ip",
            EntityBy::AccessKey => "access-key",
        })
    }
}

/// The text an event is grouped by. Events without an access key fall back to their principal
/// in `access-key` mode, so nothing is dropped.
pub fn entity_text(by: EntityBy, ev: &Event) -> String {
    match by {
        EntityBy::Principal => ev.principal.to_string(),
        EntityBy::Ip => ev.ip.to_string(),
        EntityBy::PrincipalIp => format!("{}|{}", ev.principal, ev.ip),
        EntityBy::AccessKey => ev.access_key.as_deref().map_or_else(|| ev.principal.to_string(), str::to_owned),
    }
}
