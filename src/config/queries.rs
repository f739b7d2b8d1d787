//! The analyst's queries: the history of the filter and search bars, and queries saved under a
//! name (`@tamper=event:Stop* -error:*` saves and applies, `@tamper` applies it again, also in
//! `scan --query`). Kept in `queries.toml` in the config dir, written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Queries kept in the history at most (the newest).
const HISTORY: usize = 100;

/// Saved references expanded inside one another at most (`@a` naming `@b`…).
const DEPTH: usize = 4;

/// The history and the saved queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Queries {
    /// Queries applied, newest first, each once.
    #[serde(default)]
    pub history: Vec<String>,
    /// Saved queries by name.
    #[serde(default)]
    pub saved: BTreeMap<String, String>,
}

/// A query as typed, resolved: the text to parse and, for `@name=…`, what to save.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The query with every `@name` replaced by what it names.
    pub text: String,
    /// `(name, query)` when the query defines a name.
    pub define: Option<(String, String)>,
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 40 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Queries {
    /// `queries.toml` at `path`; a missing file is empty, a broken one is empty with a notice
    /// (it is replaced at the next save).
    pub fn load(path: Option<&Path>) -> (Queries, Option<String>) {
        let Some(path) = path else { return (Queries::default(), None) };
        match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Queries::default(), None),
            Err(e) => (Queries::default(), Some(format!("cannot read {}: {e}", path.display()))),
            Ok(text) => match toml::from_str::<Queries>(&text) {
                Ok(mut q) => {
                    q.history.truncate(HISTORY);
                    q.saved.retain(|k, _| valid_name(k));
                    (q, None)
                }
                Err(e) => (Queries::default(), Some(format!("{} is not valid: {e}", path.display()))),
            },
        }
    }

    /// Writes them to `path` atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string(self)?;
        crate::sys::write_atomic(path, |w| w.write_all(text.as_bytes()))
    }

    /// Puts `query` at the head of the history (once).
    pub fn remember(&mut self, query: &str) {
        let q = query.trim();
        if q.is_empty() {
            return;
        }
        self.history.retain(|h| h != q);
        self.history.insert(0, q.to_owned());
        self.history.truncate(HISTORY);
    }

    /// Resolves a query as typed: `@name=QUERY` defines `name` (and applies QUERY); every
    /// `@name` term stands for the saved query. An unknown name is an error naming those saved.
    pub fn resolve(&self, typed: &str) -> Result<Resolved, String> {
        let typed = typed.trim();
        let (define, body) = match typed.strip_prefix('@').and_then(|t| t.split_once('=')) {
            Some((name, body)) if valid_name(name) => (Some((name.to_owned(), body.trim().to_owned())), body.trim()),
            Some((name, _)) => return Err(format!("a saved query's name is letters, digits, - and _: {name:?}")),
            None => (None, typed),
        };
        let text = self.expand(body, 0)?;
        Ok(Resolved { text, define })
    }

    fn expand(&self, text: &str, depth: usize) -> Result<String, String> {
        let mut out = Vec::new();
        for term in text.split_whitespace() {
            let Some(name) = term.strip_prefix('@') else {
                out.push(term.to_owned());
                continue;
            };
            let Some(q) = self.saved.get(name) else {
                let known: Vec<&str> = self.saved.keys().map(String::as_str).collect();
                return Err(match known.is_empty() {
                    true => format!("no saved query named {name} (save one with @{name}=QUERY)"),
                    false => format!("no saved query named {name}; saved: {}", known.join(", ")),
                });
            };
            if depth >= DEPTH {
                return Err(format!("@{name}: saved queries name each other too deep"));
            }
            out.push(self.expand(q, depth + 1)?);
        }
        Ok(out.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_saved_expanded_and_kept_across_a_restart() {
        let mut q = Queries::default();
        let r = q.resolve("@tamper=event:Stop* -error:*").unwrap();
        assert_eq!(r.define, Some(("tamper".into(), "event:Stop* -error:*".into())));
        assert_eq!(r.text, "event:Stop* -error:*");
        q.saved.insert("tamper".into(), "event:Stop* -error:*".into());
        q.saved.insert("both".into(), "@tamper principal:*ivan*".into());
        assert_eq!(q.resolve("@both ip:1.2.3.4").unwrap().text, "event:Stop* -error:* principal:*ivan* ip:1.2.3.4");
        assert!(q.resolve("@nope").unwrap_err().contains("saved: both, tamper"));
        assert!(q.resolve("@bad name=x").is_err());
        q.saved.insert("loop".into(), "@loop".into());
        assert!(q.resolve("@loop").unwrap_err().contains("too deep"));
        for text in ["a:1", "b:2", "a:1"] {
            q.remember(text);
        }
        assert_eq!(q.history, ["a:1", "b:2"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queries.toml");
        q.save(&path).unwrap();
        assert_eq!(Queries::load(Some(&path)), (q, None));
        std::fs::write(&path, "history = 3").unwrap();
        let (empty, notice) = Queries::load(Some(&path));
        assert!(empty == Queries::default() && notice.unwrap().contains("is not valid"));
    }
}
