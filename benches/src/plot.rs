//! Minimal SVG line charts for the report (no font or plotting dependencies): linear axes with
//! ticks, one polyline with markers per series, a legend.

use std::fmt::Write;

/// A named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
    /// Draw lines between points (otherwise markers only).
    pub line: bool,
    /// Draw a marker at each point.
    pub markers: bool,
}

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];

fn nice_step(span: f64) -> f64 {
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.abs().max(1e-12).log10().floor());
    let n = raw / mag;
    let f = if n < 1.5 {
        1.0
    } else if n < 3.0 {
        2.0
    } else if n < 7.0 {
        5.0
    } else {
        10.0
    };
    f * mag
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 1e4 || (v != 0.0 && v.abs() < 1e-2) {
        format!("{v:.1e}")
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders a chart.
pub fn chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h) = (720.0, 440.0);
    let (l, r, t, b) = (80.0, 180.0, 40.0, 60.0);
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in &pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
    }
    if pts.is_empty() {
        (x0, x1, y1) = (0.0, 1.0, 1.0);
    }
    let x0 = x0.min(0.0);
    let y0 = 0.0;
    let xs = nice_step(x1 - x0);
    let ys = nice_step(y1 - y0);
    let x1 = ((x1 / xs).ceil() * xs).max(x0 + xs);
    let y1 = ((y1 / ys).ceil() * ys).max(y0 + ys);
    let px = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
    let py = |y: f64| h - b - (y - y0) / (y1 - y0) * (h - t - b);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12"><rect width="{w}" height="{h}" fill="white"/><text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"##,
        (l + w - r) / 2.0,
        esc(title)
    );
    // grid and ticks
    let mut v = x0;
    while v <= x1 + xs * 1e-9 {
        let x = px(v);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            h - b,
            h - b + 16.0,
            fmt_tick(v)
        );
        v += xs;
    }
    let mut v = y0;
    while v <= y1 + ys * 1e-9 {
        let y = py(v);
        let _ = write!(
            s,
            r##"<line x1="{l}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - r,
            l - 6.0,
            y + 4.0,
            fmt_tick(v)
        );
        v += ys;
    }
    let _ = write!(
        s,
        r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="black"/><line x1="{l}" y1="{t}" x2="{l}" y2="{}" stroke="black"/><text x="{}" y="{}" text-anchor="middle">{}</text><text transform="translate(18 {}) rotate(-90)" text-anchor="middle">{}</text>"##,
        h - b,
        w - r,
        h - b,
        h - b,
        (l + w - r) / 2.0,
        h - 18.0,
        esc(x_label),
        (t + h - b) / 2.0,
        esc(y_label)
    );
    for (i, se) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        if se.line && se.points.len() > 1 {
            let path: Vec<String> = se
                .points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                .collect();
            let _ = write!(
                s,
                r##"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"##,
                path.join(" ")
            );
        }
        for (x, y) in se.points.iter().filter(|_| se.markers) {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{c}"/>"##,
                px(*x),
                py(*y)
            );
        }
        let ly = t + 20.0 + 20.0 * i as f64;
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="12" height="12" fill="{c}"/><text x="{}" y="{}">{}</text>"##,
            w - r + 12.0,
            ly - 10.0,
            w - r + 30.0,
            ly,
            esc(&se.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_series_and_escapes() {
        let svg = chart(
            "a < b",
            "x",
            "y",
            &[Series {
                label: "s&t".into(),
                points: vec![(1.0, 2.0), (3.0, 5.0)],
                line: true,
                markers: true,
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt; b") && svg.contains("s&amp;t"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(chart("empty", "x", "y", &[]).contains("</svg>"));
    }
}
