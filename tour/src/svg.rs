//! A grouped bar chart as a self-contained SVG: enough for the tour's plots without a
//! plotting dependency (and without fonts: text is left to the SVG viewer).

use std::fmt::Write as _;

/// A grouped bar chart: one group per category, one bar per series.
pub struct BarChart<'a> {
    /// Title at the top.
    pub title: &'a str,
    /// Label of the value axis.
    pub y_label: &'a str,
    /// Category names along the x axis.
    pub categories: Vec<String>,
    /// Series name and one value per category.
    pub series: Vec<(String, Vec<f64>)>,
    /// Optional horizontal reference line with its label (e.g. measured bandwidth).
    pub reference: Option<(f64, String)>,
}

const COLORS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

impl BarChart<'_> {
    /// Renders the chart.
    pub fn render(&self) -> String {
        let (w, h) = (900.0, 420.0);
        let (left, right, top, bottom) = (70.0, 20.0, 50.0, 110.0);
        let plot_w = w - left - right;
        let plot_h = h - top - bottom;
        let max_value = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .chain(self.reference.iter().map(|r| r.0))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let y_max = nice_ceiling(max_value);
        let y = |v: f64| top + plot_h * (1.0 - (v / y_max).clamp(0.0, 1.0));

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="16">{}</text>"#,
            w / 2.0,
            escape(self.title)
        );
        // Value axis with five gridlines.
        for k in 0..=5 {
            let v = y_max * f64::from(k) / 5.0;
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                w - right,
                left - 6.0,
                y(v) + 4.0,
                format_value(v),
                y = y(v)
            );
        }
        let _ = writeln!(
            s,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            top + plot_h / 2.0,
            escape(self.y_label)
        );
        // Bars.
        let groups = self.categories.len().max(1) as f64;
        let group_w = plot_w / groups;
        let bar_w = group_w * 0.8 / self.series.len().max(1) as f64;
        for (c, name) in self.categories.iter().enumerate() {
            let gx = left + group_w * c as f64 + group_w * 0.1;
            for (k, (_, values)) in self.series.iter().enumerate() {
                let v = values.get(c).copied().unwrap_or(0.0);
                if !v.is_finite() {
                    continue;
                }
                let x = gx + bar_w * k as f64;
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                    y(v),
                    bar_w * 0.95,
                    top + plot_h - y(v),
                    COLORS[k % COLORS.len()],
                    format_value(v)
                );
            }
            let cx = gx + group_w * 0.4;
            let _ = writeln!(
                s,
                r#"<text transform="translate({cx:.1} {}) rotate(35)" text-anchor="start">{}</text>"#,
                top + plot_h + 14.0,
                escape(name)
            );
        }
        if let Some((v, label)) = &self.reference {
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#c00" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" text-anchor="end" fill="#c00">{}</text>"##,
                w - right,
                w - right - 4.0,
                y(*v) - 5.0,
                escape(label),
                y = y(*v)
            );
        }
        // Legend.
        for (k, (name, _)) in self.series.iter().enumerate() {
            let lx = left + 10.0 + 160.0 * k as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="32" width="12" height="12" fill="{}"/><text x="{}" y="42">{}</text>"#,
                COLORS[k % COLORS.len()],
                lx + 16.0,
                escape(name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

/// A line chart on logarithmic axes: one polyline with markers per series, e.g. time
/// against problem size, where power laws become straight lines.
pub struct LineChart<'a> {
    /// Title at the top.
    pub title: &'a str,
    /// Label of the horizontal axis.
    pub x_label: &'a str,
    /// Label of the vertical axis.
    pub y_label: &'a str,
    /// Series name and its (x, y) points; points that are not positive and finite
    /// are left out.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

impl LineChart<'_> {
    /// Renders the chart.
    pub fn render(&self) -> String {
        let (w, h) = (900.0, 420.0);
        let (left, right, top, bottom) = (80.0, 20.0, 50.0, 60.0);
        let (plot_w, plot_h) = (w - left - right, h - top - bottom);
        let points = || {
            self.series
                .iter()
                .flat_map(|(_, p)| p.iter().copied())
                .filter(|&(x, y)| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite())
        };
        // Axis ranges widened to whole decades.
        let decades = |lo: f64, hi: f64| {
            if lo > hi {
                (0.0, 1.0)
            } else {
                let (a, b) = (lo.log10().floor(), hi.log10().ceil());
                (a, if b > a { b } else { a + 1.0 })
            }
        };
        let (x0, x1) = decades(
            points().map(|p| p.0).fold(f64::INFINITY, f64::min),
            points().map(|p| p.0).fold(0.0, f64::max),
        );
        let (y0, y1) = decades(
            points().map(|p| p.1).fold(f64::INFINITY, f64::min),
            points().map(|p| p.1).fold(0.0, f64::max),
        );
        let px = |x: f64| left + plot_w * (x.log10() - x0) / (x1 - x0);
        let py = |y: f64| top + plot_h * (1.0 - (y.log10() - y0) / (y1 - y0));

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="16">{}</text>"#,
            w / 2.0,
            escape(self.title)
        );
        // Gridlines at every decade.
        let mut d = y0;
        while d <= y1 {
            let y = py(10f64.powf(d));
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">1e{d}</text>"##,
                w - right,
                left - 6.0,
                y + 4.0
            );
            d += 1.0;
        }
        let mut d = x0;
        while d <= x1 {
            let x = px(10f64.powf(d));
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">1e{d}</text>"##,
                top + plot_h,
                top + plot_h + 16.0
            );
            d += 1.0;
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            left + plot_w / 2.0,
            h - 16.0,
            escape(self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            top + plot_h / 2.0,
            escape(self.y_label)
        );
        for (k, (name, pts)) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let coords: Vec<String> = pts
                .iter()
                .filter(|&&(x, y)| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                coords.join(" ")
            );
            for c in &coords {
                let (cx, cy) = c.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(s, r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>"#);
            }
            let lx = left + 10.0 + 220.0 * k as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="32" width="12" height="12" fill="{color}"/><text x="{}" y="42">{}</text>"#,
                lx + 16.0,
                escape(name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

/// The next "round" number at or above `v` (1, 2 or 5 times a power of ten).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * p)
}

fn format_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(17.0), 20.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }

    #[test]
    fn chart_is_well_formed() {
        let svg = BarChart {
            title: "a <b>",
            y_label: "GB/s",
            categories: vec!["dot".into(), "sum".into()],
            series: vec![
                ("f32".into(), vec![1.0, 2.0]),
                ("f64".into(), vec![3.0, f64::NAN]),
            ],
            reference: Some((2.5, "stream".into())),
        }
        .render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<rect x=").count(), 3 + 2); // three finite bars + legend
        assert!(svg.contains("a &lt;b&gt;"));
    }

    #[test]
    fn line_chart_is_well_formed() {
        let svg = LineChart {
            title: "time",
            x_label: "n",
            y_label: "s",
            series: vec![
                ("a".into(), vec![(10.0, 1e-3), (100.0, 1e-2), (0.0, 1.0)]),
                ("b".into(), vec![(10.0, 1e-4), (1000.0, 1e-1)]),
            ],
        }
        .render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4); // the zero x is left out
    }
}
