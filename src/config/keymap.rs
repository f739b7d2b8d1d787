//! Keybindings as data: the embedded `config/keymap.toml`, with a user file merged over it.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::config::action::{Action, Layer};

const DEFAULT: &str = include_str!("../../config/keymap.toml");

/// One line of the keymap: keys, what they do, and where.
#[derive(Debug, Clone, Deserialize)]
pub struct Binding {
    /// Key names (`j`, `ctrl-d`, `f5`), any of which triggers the action.
    pub keys: Vec<String>,
    /// What the keys do.
    pub action: Action,
    /// What the help says the keys do.
    pub desc: String,
    /// The layer the binding belongs to: `global`, `list` or `mark`.
    #[serde(default = "global")]
    pub context: String,
    /// The word the footer shows beside the key; the description's first word without it.
    #[serde(default)]
    pub hint: Option<String>,
}

impl Binding {
    /// The footer's label: the hint, else the description's first word.
    pub fn short(&self) -> &str {
        self.hint.as_deref().unwrap_or_else(|| self.desc.split(' ').next().unwrap_or(&self.desc))
    }
}

fn global() -> String {
    "global".into()
}

#[derive(Debug, Deserialize)]
struct File {
    bind: Vec<Binding>,
}

/// The keymap in force: the embedded defaults with the user's file merged over them.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// Every binding, defaults first.
    pub bindings: Vec<Binding>,
}

impl Keymap {
    /// The defaults, with `user` (if it exists) merged over them. A broken user file is
    /// reported and ignored: the defaults always work.
    pub fn load(user: Option<&Path>) -> (Keymap, Option<String>) {
        let mut map = Keymap { bindings: toml::from_str::<File>(DEFAULT).expect("the embedded keymap parses").bind };
        let Some(path) = user.filter(|p| p.exists()) else { return (map, None) };
        match std::fs::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| map.merge(&t)) {
            Ok(()) => (map, None),
            Err(e) => (map, Some(format!("keymap {} ignored: {e}", path.display()))),
        }
    }

    /// Merges a user keymap's text over this one: its keys replace the bindings that had
    /// them. On an error nothing is merged.
    pub fn merge(&mut self, text: &str) -> Result<(), String> {
        let f = toml::from_str::<File>(text).map_err(|e| e.to_string())?;
        for b in f.bind {
            // A key is taken from the bindings that share a layer with the new one only:
            // binding `1` in the lists leaves the mark dialog's `1` alone.
            for k in &b.keys {
                for existing in self.bindings.iter_mut().filter(|e| Layer::of(&e.context) == Layer::of(&b.context)) {
                    existing.keys.retain(|x| x != k);
                }
            }
            self.bindings.push(b);
        }
        Ok(())
    }

    /// The action `key` is bound to in `layer`.
    pub fn action_for(&self, layer: Layer, key: &KeyEvent) -> Option<Action> {
        let name = key_name(key)?;
        let contexts = layer.contexts();
        self.bindings
            .iter()
            .find(|b| contexts.contains(&b.context.as_str()) && b.keys.contains(&name))
            .map(|b| b.action)
    }

    /// Every key bound to `action`, as titles and help show them (`j/down`), or `unbound`.
    pub fn keys_for(&self, action: Action) -> String {
        let keys: Vec<&str> = self
            .bindings
            .iter()
            .filter(|b| b.action == action)
            .flat_map(|b| b.keys.iter().map(String::as_str))
            .collect();
        if keys.is_empty() { "unbound".into() } else { keys.join("/") }
    }

    /// The first key bound to `action`, for a short hint (`j`), or `unbound`.
    pub fn key_for(&self, action: Action) -> String {
        self.first_for(action).map_or_else(|| "unbound".into(), |(k, _)| k.to_owned())
    }

    /// The first binding of `action` that still has a key, with that key: the footer shows
    /// whatever the user bound, so a rebinding never makes a hint vanish.
    pub fn first_for(&self, action: Action) -> Option<(&str, &Binding)> {
        self.bindings.iter().filter(|b| b.action == action).find_map(|b| b.keys.first().map(|k| (k.as_str(), b)))
    }
}

/// The name of a key press as the keymap spells it: `j`, `G`, `ctrl-d`, `enter`, `pagedown`.
pub fn key_name(key: &KeyEvent) -> Option<String> {
    let base = match key.code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Delete => "delete".into(),
        KeyCode::Insert => "insert".into(),
        KeyCode::F(n) => format!("f{n}"),
        _ => return None,
    };
    Some(if key.modifiers.contains(KeyModifiers::CONTROL) { format!("ctrl-{base}") } else { base })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_user_override() {
        let (map, err) = Keymap::load(None);
        assert!(err.is_none());
        assert_eq!(
            map.action_for(Layer::Normal, &KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            map.action_for(Layer::Normal, &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::ForceQuit)
        );
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("keymap.toml");
        std::fs::write(&user, "[[bind]]\nkeys = [\"j\"]\naction = \"up\"\ndesc = \"inverted\"\n").unwrap();
        let (map, err) = Keymap::load(Some(&user));
        assert!(err.is_none());
        assert_eq!(
            map.action_for(Layer::Normal, &KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Up)
        );
        std::fs::write(&user, "this is not toml [").unwrap();
        let (map, err) = Keymap::load(Some(&user));
        assert!(err.unwrap().contains("ignored"));
        assert_eq!(
            map.action_for(Layer::Normal, &KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
    }
}

#[cfg(test)]
mod hint_tests {
    use super::*;

    /// The footer found hints by key string: rebinding a key made its hint vanish, and `/`
    /// was split away as a separator, leaving a blank key.
    #[test]
    fn footer_hints_follow_the_keys_the_user_bound() {
        let (mut map, _) = Keymap::load(None);
        let (key, b) = map.first_for(Action::Filter).unwrap();
        assert_eq!((key, b.short()), ("/", "filter"));
        map.merge("[[bind]]\nkeys = [\"/\"]\naction = \"help\"\ndesc = \"help\"\n\n[[bind]]\nkeys = [\"F\"]\naction = \"filter\"\ndesc = \"filter rows\"\n")
            .unwrap();
        assert_eq!(map.first_for(Action::Filter).map(|(k, b)| (k, b.short())), Some(("F", "filter")));
        assert_eq!(map.first_for(Action::Help).map(|(k, _)| k), Some("?"));
    }
}
