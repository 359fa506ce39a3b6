//! A grouped bar chart and a line chart as self-contained SVG: enough for the tour's
//! plots without a plotting dependency (and without fonts: text is left to the SVG viewer).

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

/// One line of a [`LineChart`], with an optional shaded band (e.g. the spread over
/// random seeds) drawn behind it.
pub struct LineSeries {
    /// Legend name.
    pub name: String,
    /// One value per x position.
    pub y: Vec<f64>,
    /// Lower and upper edge of the band, one value each per x position.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

/// A line chart over shared x positions: one polyline with markers per series.
pub struct LineChart<'a> {
    /// Title at the top.
    pub title: &'a str,
    /// Label of the horizontal axis.
    pub x_label: &'a str,
    /// Label of the value axis.
    pub y_label: &'a str,
    /// The x positions, increasing.
    pub x: Vec<f64>,
    /// The lines.
    pub series: Vec<LineSeries>,
    /// Bottom of the value axis (the top is a round number above every value).
    pub y_min: f64,
}

impl LineChart<'_> {
    /// Renders the chart.
    pub fn render(&self) -> String {
        let (w, h) = (900.0, 440.0);
        let (left, right, top, bottom) = (70.0, 20.0, 70.0, 60.0);
        let (plot_w, plot_h) = (w - left - right, h - top - bottom);
        let finite = |v: &f64| v.is_finite();
        let max_value = self
            .series
            .iter()
            .flat_map(|s| {
                let band = s.band.iter().flat_map(|(_, hi)| hi.iter());
                s.y.iter().chain(band).copied()
            })
            .filter(finite)
            .fold(self.y_min, f64::max);
        let y_max = self.y_min + nice_ceiling(max_value - self.y_min);
        let (x0, x1) = (
            self.x.first().copied().unwrap_or(0.0),
            self.x.last().copied().unwrap_or(1.0),
        );
        let span = if x1 > x0 { x1 - x0 } else { 1.0 };
        let px = |v: f64| left + plot_w * (v - x0) / span;
        let py = |v: f64| {
            top + plot_h * (1.0 - ((v - self.y_min) / (y_max - self.y_min)).clamp(0.0, 1.0))
        };

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
        for k in 0..=5 {
            let v = self.y_min + (y_max - self.y_min) * f64::from(k) / 5.0;
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                w - right,
                left - 6.0,
                py(v) + 4.0,
                format_value(v),
                y = py(v)
            );
        }
        for &v in &self.x {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                px(v),
                top + plot_h + 16.0,
                format_value(v)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            left + plot_w / 2.0,
            h - 12.0,
            escape(self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            top + plot_h / 2.0,
            escape(self.y_label)
        );
        for (k, series) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            if let Some((lo, hi)) = &series.band {
                let upper = self.x.iter().zip(hi).filter(|p| p.1.is_finite());
                let lower = self.x.iter().zip(lo).filter(|p| p.1.is_finite()).rev();
                let points: Vec<String> = upper
                    .chain(lower)
                    .map(|(&x, &y)| format!("{:.1},{:.1}", px(x), py(y)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polygon points="{}" fill="{color}" fill-opacity="0.18" stroke="none"/>"#,
                    points.join(" ")
                );
            }
            let points: Vec<(f64, f64)> = self
                .x
                .iter()
                .zip(&series.y)
                .filter(|p| p.1.is_finite())
                .map(|(&x, &y)| (px(x), py(y)))
                .collect();
            let path: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                path.join(" ")
            );
            for (x, y) in &points {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#
                );
            }
            let lx = left + 10.0 + 160.0 * (k % 5) as f64;
            let ly = 40.0 + 16.0 * (k / 5) as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
                ly - 10.0,
                lx + 16.0,
                ly,
                escape(&series.name)
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
            title: "ratio",
            x_label: "p",
            y_label: "faults / OPT",
            x: vec![0.0, 0.5, 1.0],
            series: vec![
                LineSeries {
                    name: "a".into(),
                    y: vec![1.0, 1.5, f64::NAN],
                    band: Some((vec![1.0, 1.2, 1.5], vec![1.0, 1.8, 2.5])),
                },
                LineSeries {
                    name: "b".into(),
                    y: vec![2.0, 2.0, 2.0],
                    band: None,
                },
            ],
            y_min: 1.0,
        }
        .render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 2 + 3);
    }
}
