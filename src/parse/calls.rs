//! A set of API calls by `eventName`, compared as Sigma compares them (ASCII case-insensitive),
//! each an exact name or a prefix.

use rustc_hash::FxHashSet;

/// Calls by exact (lower-cased) name or by (lower-cased) prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallSet {
    names: FxHashSet<Box<str>>,
    prefixes: Vec<Box<str>>,
}

impl CallSet {
    /// Adds a call by name.
    pub fn name(&mut self, name: &str) {
        self.names.insert(name.to_ascii_lowercase().into());
    }

    /// Adds every call whose name starts with `prefix`.
    pub fn prefix(&mut self, prefix: &str) {
        self.prefixes.push(prefix.to_ascii_lowercase().into());
    }

    /// Whether `call` is in the set.
    pub fn contains(&self, call: &str) -> bool {
        crate::text::ascii_lower(call, &mut [0; 64])
            .is_some_and(|c| self.names.contains(c) || self.prefixes.iter().any(|p| c.starts_with(&**p)))
    }

    /// Whether the set holds no call.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.prefixes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_match_by_name_or_prefix_whatever_their_case() {
        let mut set = CallSet::default();
        set.name("GetObject");
        set.prefix("UpdateFunctionConfiguration");
        assert!(set.contains("getobject") && set.contains("GETOBJECT"));
        assert!(set.contains("UpdateFunctionConfiguration20150331v2"));
        assert!(!set.contains("GetObjectAcl") && !set.contains("PutObject"));
        assert!(!set.contains(&"x".repeat(100)));
    }
}
