//! Themes as data: TOML files of semantic roles, embedded for the shipped ones, layered over a
//! parent, degraded to the terminal's palette.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const SHIPPED: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// None (`NO_COLOR`): bold and reverse only.
    None,
    /// The 16 ANSI colours.
    Ansi16,
    /// The xterm 256-colour palette.
    Indexed256,
    /// 24-bit colour.
    TrueColor,
}

impl Palette {
    /// `NO_COLOR`, then `COLORTERM`, then `TERM`.
    pub fn detect() -> Palette {
        let env = |k: &str| std::env::var(k).unwrap_or_default();
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Palette::None
        } else if matches!(env("COLORTERM").as_str(), "truecolor" | "24bit") {
            Palette::TrueColor
        } else if env("TERM").contains("256color") {
            Palette::Indexed256
        } else {
            Palette::Ansi16
        }
    }
}

/// What a colour means. Theme files name roles in snake case (`severity_high`); a name that
/// is not one of these is reported, not silently drawn in the terminal's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Ordinary text.
    Base,
    /// Secondary text: labels, hints, borders of quiet panes.
    Muted,
    /// Titles and keys.
    Title,
    /// What asks for attention: notices, the active choice.
    Accent,
    /// Pane borders.
    Border,
    /// The selected row's background.
    SelectionBg,
    /// Flagged windows with a rule hit, and what is past the cut-off.
    SeverityHigh,
    /// Flagged windows.
    SeverityMedium,
    /// The rank-score bar.
    ScoreBar,
    /// Rule badges.
    RuleBadge,
    /// A source that is live or done.
    Ok,
    /// A source back-filling; skipped records.
    Warn,
    /// Errors: failed records in the tail, a source's error.
    Error,
    /// The DEMO DATA banner.
    Demo,
    /// JSON keys.
    JsonKey,
    /// JSON strings.
    JsonString,
    /// JSON numbers, booleans and null.
    JsonNumber,
    /// The rate chart.
    Chart,
}

impl Role {
    /// Every role, for checks that a theme sets them all.
    pub const ALL: [Role; 18] = [
        Role::Base,
        Role::Muted,
        Role::Title,
        Role::Accent,
        Role::Border,
        Role::SelectionBg,
        Role::SeverityHigh,
        Role::SeverityMedium,
        Role::ScoreBar,
        Role::RuleBadge,
        Role::Ok,
        Role::Warn,
        Role::Error,
        Role::Demo,
        Role::JsonKey,
        Role::JsonString,
        Role::JsonNumber,
        Role::Chart,
    ];

    /// The name theme files use.
    pub fn name(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Muted => "muted",
            Role::Title => "title",
            Role::Accent => "accent",
            Role::Border => "border",
            Role::SelectionBg => "selection_bg",
            Role::SeverityHigh => "severity_high",
            Role::SeverityMedium => "severity_medium",
            Role::ScoreBar => "score_bar",
            Role::RuleBadge => "rule_badge",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Error => "error",
            Role::Demo => "demo",
            Role::JsonKey => "json_key",
            Role::JsonString => "json_string",
            Role::JsonNumber => "json_number",
            Role::Chart => "chart",
        }
    }

    fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

#[derive(Debug, Deserialize)]
struct File {
    #[allow(dead_code)]
    name: Option<String>,
    parent: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, String>,
}

/// A loaded theme: a colour per role, degraded to the terminal's palette when drawn.
#[derive(Debug, Clone)]
pub struct Theme {
    roles: BTreeMap<Role, Color>,
    palette: Palette,
}

fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 6)?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    if let Ok(i) = s.parse::<u8>() {
        return Some(Color::Indexed(i));
    }
    s.parse::<Color>().ok()
}

/// Nearest colour of the xterm 6×6×6 cube or grey ramp.
fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let q = |v: u8| {
        if v < 48 {
            0
        } else if v < 115 {
            1
        } else {
            (v - 35) / 40
        }
    };
    let (qr, qg, qb) = (q(r), q(g), q(b));
    let level = |q: u8| if q == 0 { 0 } else { 55 + q * 40 };
    let cube = 16 + 36 * qr + 6 * qg + qb;
    let dist = |a: (u8, u8, u8)| {
        let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
        d(a.0, r) + d(a.1, g) + d(a.2, b)
    };
    let grey_avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let gi = if grey_avg > 238 { 23 } else { (grey_avg.saturating_sub(3) / 10) as u8 };
    let gv = 8 + gi * 10;
    if dist((gv, gv, gv)) < dist((level(qr), level(qg), level(qb))) { 232 + gi } else { cube }
}

fn to_16(r: u8, g: u8, b: u8) -> Color {
    let bright = u16::from(r) + u16::from(g) + u16::from(b) > 380;
    let (hr, hg, hb) = (r > 127, g > 127, b > 127);
    match (hr, hg, hb, bright) {
        (false, false, false, false) => Color::Black,
        (false, false, false, true) | (true, true, true, false) => Color::Gray,
        (true, true, true, true) => Color::White,
        (true, false, false, _) => {
            if bright {
                Color::LightRed
            } else {
                Color::Red
            }
        }
        (false, true, false, _) => {
            if bright {
                Color::LightGreen
            } else {
                Color::Green
            }
        }
        (false, false, true, _) => {
            if bright {
                Color::LightBlue
            } else {
                Color::Blue
            }
        }
        (true, true, false, _) => {
            if bright {
                Color::LightYellow
            } else {
                Color::Yellow
            }
        }
        (true, false, true, _) => {
            if bright {
                Color::LightMagenta
            } else {
                Color::Magenta
            }
        }
        (false, true, true, _) => {
            if bright {
                Color::LightCyan
            } else {
                Color::Cyan
            }
        }
    }
}

impl Theme {
    /// Loads a shipped theme by name or a user file by path, over its parent chain (depth ≤ 8).
    /// Problems fall back to the parent and are returned as a notice, never as an error.
    pub fn load(name_or_path: &str, palette: Palette) -> (Theme, Option<String>) {
        Theme::load_with(name_or_path, palette, |n| std::fs::read_to_string(n).map_err(|e| format!("theme '{n}': {e}")))
    }

    /// [`Theme::load`], with user files read by `read` (the fuzz target serves its input).
    pub fn load_with(
        name_or_path: &str,
        palette: Palette,
        read: impl Fn(&str) -> Result<String, String>,
    ) -> (Theme, Option<String>) {
        let mut notice = None;
        let mut chain: Vec<File> = Vec::new();
        let mut next = Some(name_or_path.to_owned());
        while let Some(n) = next.take() {
            if chain.len() >= 8 {
                notice = Some("theme parents nest too deep; stopped".into());
                break;
            }
            let text = match SHIPPED.iter().find(|(k, _)| *k == n) {
                Some((_, t)) => Ok((*t).to_owned()),
                None => read(&n),
            };
            match text.and_then(|t| toml::from_str::<File>(&t).map_err(|e| format!("theme '{n}': {e}"))) {
                Ok(f) => {
                    next = f.parent.clone().filter(|p| *p != n).or_else(|| (n != "dark").then(|| "dark".into()));
                    chain.push(f);
                }
                Err(e) => {
                    notice = Some(format!("{e}; using the default"));
                    if n != "dark" {
                        next = Some("dark".into());
                    }
                }
            }
        }
        let mut roles = BTreeMap::new();
        for f in chain.iter().rev() {
            for (k, v) in &f.roles {
                let Some(role) = Role::from_name(k) else {
                    notice = Some(format!("theme role '{k}' is not one trailtop draws (a typo?); ignored"));
                    continue;
                };
                match parse_color(v) {
                    Some(c) => {
                        roles.insert(role, c);
                    }
                    None => notice = Some(format!("theme role {k}: '{v}' is not a colour; kept the parent's")),
                }
            }
        }
        (Theme { roles, palette }, notice)
    }

    /// The colour of `role` in the terminal's palette (`Reset` where the theme has none).
    pub fn color(&self, role: Role) -> Color {
        let c = self.roles.get(&role).copied().unwrap_or(Color::Reset);
        match (self.palette, c) {
            (Palette::None, _) => Color::Reset,
            (Palette::TrueColor, c) => c,
            (Palette::Indexed256, Color::Rgb(r, g, b)) => Color::Indexed(to_256(r, g, b)),
            (Palette::Ansi16, Color::Rgb(r, g, b)) => to_16(r, g, b),
            (Palette::Ansi16, Color::Indexed(_)) => Color::Gray,
            (_, c) => c,
        }
    }

    /// A style with `role`'s colour as foreground.
    pub fn fg(&self, role: Role) -> Style {
        Style::default().fg(self.color(role))
    }

    /// The selected row: a background where there are enough colours, reverse video where
    /// there are not. With 16 colours the theme's dark selection became colour 0, and the row
    /// vanished on a black terminal (TERM=xterm).
    pub fn selection(&self) -> Style {
        if matches!(self.palette, Palette::None | Palette::Ansi16) {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().bg(self.color(Role::SelectionBg)).add_modifier(Modifier::BOLD)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_load_and_user_theme_overrides_only_what_it_names() {
        for (name, _) in SHIPPED {
            let (t, notice) = Theme::load(name, Palette::TrueColor);
            assert!(notice.is_none(), "{name}: {notice:?}");
            // Every role resolves in every shipped theme: none falls to the terminal default.
            for role in Role::ALL {
                assert_ne!(t.color(role), Color::Reset, "{name}: {}", role.name());
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.toml");
        std::fs::write(&p, "parent = \"light\"\n[roles]\nerror = \"#010203\"\n").unwrap();
        let (t, notice) = Theme::load(p.to_str().unwrap(), Palette::TrueColor);
        assert!(notice.is_none());
        assert_eq!(t.color(Role::Error), Color::Rgb(1, 2, 3));
        assert_eq!(t.color(Role::Base), Color::Rgb(0x24, 0x29, 0x2f), "from the light parent");
    }

    #[test]
    fn bad_files_fall_back_with_a_notice() {
        let (t, notice) = Theme::load("/nonexistent/theme.toml", Palette::TrueColor);
        assert!(notice.unwrap().contains("using the default"));
        assert_eq!(t.color(Role::Base), Color::Rgb(0xc9, 0xd1, 0xd9));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[roles]\nerror = \"not-a-colour\"\n").unwrap();
        let (t, notice) = Theme::load(p.to_str().unwrap(), Palette::TrueColor);
        assert!(notice.unwrap().contains("not a colour"));
        assert_eq!(t.color(Role::Error), Color::Rgb(0xf8, 0x51, 0x49));
    }

    /// A typo in a user theme rendered as the terminal default without a word.
    #[test]
    fn an_unknown_role_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("typo.toml");
        std::fs::write(&p, "[roles]\nsevrity_high = \"#010203\"\n").unwrap();
        let (t, notice) = Theme::load(p.to_str().unwrap(), Palette::TrueColor);
        assert!(notice.is_some_and(|n| n.contains("'sevrity_high' is not one trailtop draws")));
        assert_eq!(t.color(Role::SeverityHigh), Color::Rgb(0xff, 0x7b, 0x72), "the default's");
    }

    /// TERM=xterm: the selected row was bold on colour 0, invisible on a black background.
    #[test]
    fn the_selection_shows_with_16_colours() {
        for name in ["dark", "light", "high-contrast"] {
            let (t, _) = Theme::load(name, Palette::Ansi16);
            let sel = t.selection();
            assert!(sel.add_modifier.contains(Modifier::REVERSED), "{name}: {sel:?}");
            assert!(sel.bg.is_none_or(|c| c != Color::Black), "{name}: {sel:?}");
        }
        let (t, _) = Theme::load("dark", Palette::Indexed256);
        assert!(matches!(t.selection().bg, Some(Color::Indexed(_))), "256 colours keep the theme's background");
    }

    #[test]
    fn palettes_degrade() {
        let (t, _) = Theme::load("dark", Palette::Indexed256);
        assert!(matches!(t.color(Role::Error), Color::Indexed(_)));
        let (t, _) = Theme::load("dark", Palette::Ansi16);
        assert!(!matches!(t.color(Role::Error), Color::Rgb(..) | Color::Indexed(_)));
        let (t, _) = Theme::load("dark", Palette::None);
        assert_eq!(t.color(Role::Error), Color::Reset);
        assert_eq!(to_256(255, 0, 0), 196);
        assert_eq!(to_256(128, 128, 128), 244);
    }
}
