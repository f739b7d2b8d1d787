//! The README's pictures: the built-in demo source (a day of back-fill, then ten simulated
//! minutes of live traffic at 600× with its first live attack) through the real pipeline, the
//! console's own `ui::render` drawn into a 120×36 buffer, each frame written as an SVG in the
//! folder given (default `assets`). Run by `scripts/screenshots.sh`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use trailtop::app::state::AppState;
use trailtop::config::action::Action;
use trailtop::config::keymap::Keymap;
use trailtop::config::theme::{Palette, Theme};
use trailtop::model::Threshold;
use trailtop::parse::ParseOptions;
use trailtop::pipeline::{Pipeline, PipelineState};
use trailtop::source::demo::DemoSource;
use trailtop::source::{SourceMsg, SourceStatus};

const W: u16 = 120;
const H: u16 = 36;
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const FG: &str = "#d0d0d0";
const BG: &str = "#1c1c1c";

fn main() -> anyhow::Result<()> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "assets".into()));
    std::fs::create_dir_all(&out)?;
    let snap = Arc::new(demo_snapshot());
    let (theme, _) = Theme::load("dark", Palette::TrueColor);
    let keymap = Keymap::load(None).0;
    let frames: [(&str, &[Action]); 4] = [
        ("console", &[]),
        ("drill-down", &[Action::Open]),
        ("around-this-time", &[Action::Open, Action::PivotAround]),
        ("mark-false-positive", &[Action::Down, Action::Down, Action::MarkFalsePositive]),
    ];
    for (name, actions) in frames {
        let mut s = AppState::new(Threshold::Contamination(0.01));
        s.now = snap.sources[0].newest_event.unwrap_or(0);
        s.on_snapshot(Arc::clone(&snap));
        for a in actions {
            s.update(*a);
        }
        let mut terminal = Terminal::new(TestBackend::new(W, H))?;
        terminal.draw(|f| trailtop::ui::render(f, &s, &theme, &keymap))?;
        let path = out.join(format!("{name}.svg"));
        std::fs::write(&path, svg(terminal.backend().buffer(), name))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The demo as the console runs it, stopped ten simulated minutes after its back-fill.
fn demo_snapshot() -> trailtop::pipeline::Snapshot {
    let (tx, rx) = crossbeam_channel::unbounded();
    let demo = DemoSource::new(0, 600.0, true, ParseOptions { keep_raw: true, ..Default::default() });
    std::thread::spawn(move || demo.run(tx));
    let mut st = PipelineState::new(Pipeline {
        tail_capacity: 200_000,
        memory: 256 << 20,
        demo: true,
        ..Pipeline::in_memory("demo")
    });
    let mut live_since: Option<Instant> = None;
    while live_since.is_none_or(|t| t.elapsed() < Duration::from_secs(1)) {
        let Ok(msg) = rx.recv_timeout(Duration::from_secs(60)) else { break };
        if matches!(msg, SourceMsg::Status { status: SourceStatus::Live, .. }) {
            live_since = Some(Instant::now());
        }
        st.ingest(msg);
    }
    drop(rx);
    st.publish()
}

/// A cell colour as `#rrggbb`. The dark theme in true colour gives every role as RGB, so
/// anything else is the terminal's default colour.
fn hex(c: Color, default: &str) -> String {
    match c {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        _ => default.to_owned(),
    }
}

/// The buffer as an SVG: a rectangle per run of one background, a text per run of one style,
/// each stretched to its cells so box-drawing and block characters line up in any font.
fn svg(buf: &Buffer, title: &str) -> String {
    let (w, h) = (buf.area.width as f64 * CELL_W, buf.area.height as f64 * CELL_H);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"14\">\n<title>trailtop: {title}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"{BG}\"/>\n"
    );
    for y in 0..buf.area.height {
        let mut x = 0;
        while x < buf.area.width {
            let cell = &buf[(x, y)];
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (hex(cell.fg, FG), hex(cell.bg, BG));
            if reversed {
                (fg, bg) = (bg, fg);
            }
            let bold = cell.modifier.contains(Modifier::BOLD);
            let start = x;
            let mut text = String::new();
            while x < buf.area.width {
                let c = &buf[(x, y)];
                let r = c.modifier.contains(Modifier::REVERSED);
                let (cf, cb) = if r { (hex(c.bg, BG), hex(c.fg, FG)) } else { (hex(c.fg, FG), hex(c.bg, BG)) };
                if cf != fg || cb != bg || c.modifier.contains(Modifier::BOLD) != bold {
                    break;
                }
                text.push_str(c.symbol());
                x += 1;
            }
            let (px, py, len) = (start as f64 * CELL_W, y as f64 * CELL_H, (x - start) as f64 * CELL_W);
            if bg != BG {
                let _ = writeln!(
                    s,
                    "<rect x=\"{px:.1}\" y=\"{py:.1}\" width=\"{len:.1}\" height=\"{CELL_H}\" fill=\"{bg}\"/>"
                );
            }
            if !text.trim().is_empty() {
                let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                let weight = if bold { " font-weight=\"bold\"" } else { "" };
                let _ = writeln!(
                    s,
                    "<text x=\"{px:.1}\" y=\"{:.1}\" fill=\"{fg}\"{weight} textLength=\"{len:.1}\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\">{escaped}</text>",
                    py + CELL_H * 0.78
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
