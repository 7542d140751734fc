//! Line charts drawn on the server as inline SVG: readable without JavaScript, styled only by
//! attributes and classes (a strict content security policy refuses `style` attributes), each
//! with a title, a text summary and its scale written out for screen readers.

use maud::{html, Markup};

/// Drawing area, in SVG user units (the chart scales to its container's width).
const W: f64 = 600.0;
const H: f64 = 150.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

/// One line: a name for the legend, and values by time (`None`: no sample, a gap).
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) points: Vec<(i64, Option<f64>)>,
}

/// A chart of `series` from `from_ms` to `to_ms`. `id` names it for tests and links; `unit`
/// follows each number in the summary ("s", "/min", "").
pub(crate) fn line_chart(
    id: &str,
    title: &str,
    unit: &str,
    from_ms: i64,
    to_ms: i64,
    series: &[Series],
) -> Markup {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let top = nice_ceiling(max);
    let span = (to_ms - from_ms).max(1) as f64;
    let x = |t: i64| LEFT + (t - from_ms) as f64 / span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / top) * (H - TOP - BOTTOM);
    let title_id = format!("{id}-title");
    html! {
        figure.chart #(id) data-testid=(id) {
            figcaption #(title_id) { (title) }
            svg.chart-svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-labelledby=(title_id)
                preserveAspectRatio="none" {
                line.axis x1=(LEFT) y1=(y(0.0)) x2=(W - RIGHT) y2=(y(0.0)) {}
                line.gridline x1=(LEFT) y1=(y(top)) x2=(W - RIGHT) y2=(y(top)) {}
                text.tick x=(LEFT - 4.0) y=(y(top) + 4.0) text-anchor="end" { (number(top)) }
                text.tick x=(LEFT - 4.0) y=(y(0.0)) text-anchor="end" { "0" }
                text.tick x=(LEFT) y=(H - 6.0) text-anchor="start" { "24 h ago" }
                text.tick x=((LEFT + W - RIGHT) / 2.0) y=(H - 6.0) text-anchor="middle" { "12 h ago" }
                text.tick x=(W - RIGHT) y=(H - 6.0) text-anchor="end" { "now" }
                @for (i, s) in series.iter().enumerate() {
                    @for run in runs(&s.points) {
                        polyline class=(format!("line s{}", i % 6)) fill="none"
                            points=(run.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect::<Vec<_>>().join(" ")) {}
                    }
                }
            }
            ul.legend {
                @for (i, s) in series.iter().enumerate() {
                    li data-series=(s.name) {
                        span class=(format!("swatch s{}", i % 6)) aria-hidden="true" {}
                        (s.name) ": " (summary(&s.points, unit))
                    }
                }
                @if series.is_empty() { li.empty { "Nothing recorded." } }
            }
        }
    }
}

/// Consecutive samples, split where one is missing (drawn as a gap, not a slope).
fn runs(points: &[(i64, Option<f64>)]) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (t, v) in points {
        match v {
            Some(v) => current.push((*t, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    // A single sample is drawn as a short flat line so it can be seen.
    for run in &mut out {
        if run.len() == 1 {
            let (t, v) = run[0];
            run.push((t + 60_000, v));
        }
    }
    out
}

/// "latest 3/min, peak 12/min", or "no samples".
fn summary(points: &[(i64, Option<f64>)], unit: &str) -> String {
    let values: Vec<f64> = points.iter().filter_map(|p| p.1).collect();
    match values.last() {
        None => "no samples".into(),
        Some(last) => {
            let peak = values.iter().copied().fold(0.0_f64, f64::max);
            format!(
                "latest {}{unit}, peak {}{unit}",
                number(*last),
                number(peak)
            )
        }
    }
}

/// The axis top: 1, 2 or 5 times a power of ten at or above `max` (at least 1).
fn nice_ceiling(max: f64) -> f64 {
    if !max.is_finite() || max <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * power)
}

/// A number as people read it: whole numbers without decimals, others with one.
fn number(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_readable_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(199_000.0), 200_000.0);
        assert_eq!(number(2.0), "2");
        assert_eq!(number(2.25), "2.2");
    }

    #[test]
    fn missing_samples_are_gaps() {
        let r = runs(&[(0, Some(1.0)), (1, Some(2.0)), (2, None), (3, Some(4.0))]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], vec![(0, 1.0), (1, 2.0)]);
        assert_eq!(r[1], vec![(3, 4.0), (60_003, 4.0)]);
    }

    #[test]
    fn a_chart_has_no_style_attribute_and_says_its_figures() {
        let s = Series {
            name: "pending".into(),
            points: vec![(0, Some(1.0)), (60_000, Some(3.0))],
        };
        let html = line_chart("q", "Queue", "", 0, 120_000, &[s]).into_string();
        assert!(!html.contains("style="), "{html}");
        assert!(html.contains("<polyline"), "{html}");
        assert!(html.contains("pending: latest 3, peak 3"), "{html}");
    }
}
