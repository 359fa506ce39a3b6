//! Grouped bar charts, line charts and point-cloud matchings as self-contained SVG: enough for the tour's plots without a
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

/// A line chart of one or more series of (x, y) points, each axis linear or
/// logarithmic (e.g. an error against iterations, or time against size on log-log).
pub struct LineChart<'a> {
    /// Title at the top.
    pub title: &'a str,
    /// Label of the x axis.
    pub x_label: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
    /// Whether the x axis is logarithmic (non-positive values are then left out).
    pub log_x: bool,
    /// Whether the y axis is logarithmic (non-positive values are then left out).
    pub log_y: bool,
    /// Series name and its points, in x order.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Shaded bands (e.g. the spread over seeds): the index of the series whose colour
    /// they take, and (x, low, high) points in x order.
    pub bands: Vec<(usize, Vec<BandPoint>)>,
    /// Optional horizontal reference line with its label (e.g. a tolerance).
    pub reference: Option<(f64, String)>,
}

/// A point of a shaded band: x, low, high.
pub type BandPoint = (f64, f64, f64);

/// One axis of a line chart: its range in plotted units (decades when logarithmic).
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
}

impl Axis {
    /// The range that shows every value: whole decades when logarithmic, else from
    /// zero (or below) to a round number.
    fn fit(log: bool, values: impl Iterator<Item = f64>) -> Axis {
        let t = |v: f64| if log { v.log10() } else { v };
        let (lo, hi) = values
            .map(t)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let (lo, hi) = if !lo.is_finite() {
            (0.0, 1.0)
        } else if log {
            (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
        } else {
            (lo.min(0.0), nice_ceiling(hi))
        };
        Axis { log, lo, hi }
    }

    fn usable(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }

    /// Where `v` falls on the axis, from 0 to 1.
    fn frac(&self, v: f64) -> f64 {
        let t = if self.log { v.log10() } else { v };
        ((t - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Gridline values: at most about eight decades when logarithmic, else six.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let step = ((self.hi - self.lo) / 8.0).ceil().max(1.0);
            let count = ((self.hi - self.lo) / step).floor() as i32;
            (0..=count)
                .map(|k| 10f64.powf(self.lo + step * f64::from(k)))
                .collect()
        } else {
            (0..=5)
                .map(|k| self.lo + (self.hi - self.lo) * f64::from(k) / 5.0)
                .collect()
        }
    }

    fn label(&self, v: f64) -> String {
        if self.log {
            format!("1e{}", v.log10().round())
        } else {
            format_value(v)
        }
    }
}

impl LineChart<'_> {
    /// Renders the chart.
    pub fn render(&self) -> String {
        let (w, h) = (900.0, 420.0);
        let (left, right, top, bottom) = (80.0, 20.0, 50.0, 60.0);
        let (plot_w, plot_h) = (w - left - right, h - top - bottom);
        let probe = |log| Axis {
            log,
            lo: 0.0,
            hi: 1.0,
        };
        let (px, py) = (probe(self.log_x), probe(self.log_y));
        let usable = |&(x, y): &(f64, f64)| px.usable(x) && py.usable(y);
        let points = || {
            self.series
                .iter()
                .flat_map(|(_, p)| p.iter().copied().filter(usable))
        };
        let band_points = || {
            self.bands.iter().flat_map(|(_, b)| {
                b.iter()
                    .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
                    .filter(usable)
            })
        };
        let xa = Axis::fit(self.log_x, points().chain(band_points()).map(|p| p.0));
        let references = self.reference.iter().map(|r| r.0).filter(|&v| py.usable(v));
        let ys = points().chain(band_points()).map(|p| p.1);
        let ya = Axis::fit(self.log_y, ys.chain(references));
        let x = |v: f64| left + plot_w * xa.frac(v);
        let y = |v: f64| top + plot_h * (1.0 - ya.frac(v));

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
        for v in ya.ticks() {
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                w - right,
                left - 6.0,
                y(v) + 4.0,
                ya.label(v),
                yy = y(v)
            );
        }
        for v in xa.ticks() {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(v),
                top + plot_h + 16.0,
                xa.label(v)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            left + plot_w / 2.0,
            h - 14.0,
            escape(self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            top + plot_h / 2.0,
            escape(self.y_label)
        );
        for (k, band) in &self.bands {
            let inside = |&&(x, lo, hi): &&(f64, f64, f64)| usable(&(x, lo)) && usable(&(x, hi));
            let upper = band.iter().filter(inside).map(|&(px, _, hi)| (px, hi));
            let lower = band
                .iter()
                .rev()
                .filter(inside)
                .map(|&(px, lo, _)| (px, lo));
            let outline: Vec<String> = upper
                .chain(lower)
                .map(|(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polygon fill="{}" fill-opacity="0.18" stroke="none" points="{}"/>"#,
                COLORS[k % COLORS.len()],
                outline.join(" ")
            );
        }
        for (k, (_, pts)) in self.series.iter().enumerate() {
            let path: Vec<String> = pts
                .iter()
                .filter(|p| usable(p))
                .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
                COLORS[k % COLORS.len()],
                path.join(" ")
            );
        }
        if let Some((v, label)) = &self.reference {
            let _ = writeln!(
                s,
                r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#c00" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" text-anchor="end" fill="#c00">{}</text>"##,
                w - right,
                w - right - 4.0,
                y(*v) - 5.0,
                escape(label),
                yy = y(*v)
            );
        }
        // Legend entries as wide as their names (about 7 px a character at 12 px).
        let mut lx = left + 10.0;
        for (k, (name, _)) in self.series.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<rect x="{lx}" y="32" width="12" height="12" fill="{}"/><text x="{}" y="42">{}</text>"#,
                COLORS[k % COLORS.len()],
                lx + 16.0,
                escape(name)
            );
            lx += 36.0 + 7.0 * name.chars().count() as f64;
        }
        s.push_str("</svg>\n");
        s
    }
}

/// Two 2-D point clouds and the segments of a transport between them, on one square
/// with equal scales: each source point is joined to where the transport sends it.
pub struct Matching<'a> {
    /// Title at the top.
    pub title: &'a str,
    /// Source and target clouds, with their legend names.
    pub clouds: [(&'a str, &'a [(f64, f64)]); 2],
    /// Segments from a source point to its image.
    pub segments: Vec<((f64, f64), (f64, f64))>,
}

impl Matching<'_> {
    /// Renders the plot.
    pub fn render(&self) -> String {
        let (side, top, margin) = (560.0, 50.0, 30.0);
        let all = self.clouds.iter().flat_map(|(_, p)| p.iter());
        let (mut lo, mut hi) = (
            (f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NEG_INFINITY),
        );
        for &(x, y) in all {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        }
        let span = (hi.0 - lo.0).max(hi.1 - lo.1).max(f64::MIN_POSITIVE);
        let px = |(x, y): (f64, f64)| {
            (
                margin + side * (x - lo.0) / span,
                top + side * (1.0 - (y - lo.1) / span),
            )
        };
        let (w, h) = (side + 2.0 * margin + 160.0, side + top + margin);
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
        for &(from, to) in &self.segments {
            let ((x1, y1), (x2, y2)) = (px(from), px(to));
            let _ = writeln!(
                s,
                r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#999" stroke-width="0.6"/>"##
            );
        }
        for (k, (name, points)) in self.clouds.iter().enumerate() {
            for &p in points.iter() {
                let (x, y) = px(p);
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.2" fill="{}"/>"#,
                    COLORS[k]
                );
            }
            let ly = top + 20.0 * k as f64;
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{ly:.1}" r="4" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                side + 2.0 * margin,
                COLORS[k],
                side + 2.0 * margin + 10.0,
                ly + 4.0,
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
            title: "error",
            x_label: "iteration",
            y_label: "L1 error",
            log_x: false,
            log_y: true,
            series: vec![
                ("f64".into(), vec![(0.0, 1.0), (10.0, 1e-3), (20.0, 1e-9)]),
                (
                    "f32".into(),
                    vec![(0.0, 1.0), (10.0, 0.0), (20.0, f64::NAN)],
                ),
            ],
            bands: vec![(0, vec![(0.0, 0.5, 2.0), (10.0, 1e-4, 1e-2)])],
            reference: Some((1e-9, "tol".into())),
        }
        .render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 1);
        // Zero and NaN are left out of a log axis.
        assert!(
            svg.lines()
                .any(|l| l.contains("<polyline") && l.matches(',').count() == 1)
        );
    }
}
