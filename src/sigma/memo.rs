//! Remembered answers for the rules whose result depends on typed fields alone. The rules
//! about every call (a user agent of a hacking distribution, root use, an assumed role's
//! issuer) are asked of every record, but the values they read repeat: a record whose values
//! were seen before gets the answer given then, exactly, without the engine.

use rustc_hash::FxHashMap;

use super::RuleIdx;
use super::view::View;

/// One rule's answers by the values it read.
type Answers = FxHashMap<Box<[u8]>, bool>;

/// Past answers per rule, by the values of the fields it reads; `None` for a rule given up on.
#[derive(Default)]
pub struct Memo {
    answers: FxHashMap<RuleIdx, Option<Answers>>,
    key: Vec<u8>,
}

/// A rule whose fields take this many distinct values (an ARN with an address and a call) is
/// no longer remembered: its lookups would mostly miss, and cost more than asking the engine.
const CAP: usize = 4096;

impl Memo {
    /// Whether rule `idx`, which reads only the typed `fields`, matches `view`: remembered, or
    /// `eval` asked and remembered.
    pub fn answer(&mut self, idx: RuleIdx, fields: &[Box<str>], view: &View, eval: impl FnOnce() -> bool) -> bool {
        let Some(table) = self.answers.entry(idx).or_insert_with(|| Some(FxHashMap::default())) else {
            return eval();
        };
        self.key.clear();
        for f in fields {
            match view.typed(f) {
                // Length-prefixed, so that no two sets of values share a key; absent is 0.
                Some(v) => {
                    let v = v.unwrap_or_default().as_bytes();
                    self.key.extend_from_slice(&(v.len() as u64).to_le_bytes());
                    self.key.extend_from_slice(v);
                }
                // Not answered from the typed record this time: ask the engine.
                None => return eval(),
            }
        }
        if let Some(&known) = table.get(self.key.as_slice()) {
            return known;
        }
        let answer = eval();
        if table.len() >= CAP {
            self.answers.insert(idx, None);
        } else {
            table.insert(self.key.as_slice().into(), answer);
        }
        answer
    }
}
