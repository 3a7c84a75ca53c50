//! The SVG charts docs/benchmarks.md shows, drawn by hand: no plotting
//! dependency for two charts.

use std::fmt::Write as _;

/// A horizontal bar chart of medians, ours and IPaddr2 side by side, log scale.
pub fn bars(rows: &[(String, f64, f64)], floor_ms: f64) -> String {
    let (width, left, bar, gap) = (900.0, 260.0, 14.0, 10.0);
    let height = 60.0 + rows.len() as f64 * (2.0 * bar + gap);
    let max = rows.iter().map(|r| r.1.max(r.2)).fold(1.0, f64::max);
    let scale = |v: f64| {
        if v <= 0.0 {
            0.0
        } else {
            ((v.max(0.1) / 0.1).log10() / (max / 0.1).log10()) * (width - left - 120.0)
        }
    };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">Median time per action, ms (log scale); exec floor {floor_ms:.2} ms</text>\n<rect x=\"{left}\" y=\"30\" width=\"12\" height=\"12\" fill=\"#2b7bb9\"/><text x=\"{}\" y=\"40\">ocf:rust:IPaddr</text>\n<rect x=\"{}\" y=\"30\" width=\"12\" height=\"12\" fill=\"#d95f02\"/><text x=\"{}\" y=\"40\">IPaddr2</text>\n",
        left + 16.0,
        left + 140.0,
        left + 156.0
    );
    for (i, (label, ours, theirs)) in rows.iter().enumerate() {
        let y = 55.0 + i as f64 * (2.0 * bar + gap);
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>",
            left - 8.0,
            y + bar + 4.0
        )
        .unwrap();
        for (k, (value, color)) in [(*ours, "#2b7bb9"), (*theirs, "#d95f02")].iter().enumerate() {
            if *value <= 0.0 {
                continue;
            }
            let yy = y + k as f64 * bar;
            writeln!(out, "<rect x=\"{left}\" y=\"{yy}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{value:.2}</text>", scale(*value).max(1.0), bar - 2.0, left + scale(*value).max(1.0) + 4.0, yy + bar - 4.0).unwrap();
        }
    }
    out.push_str("</svg>\n");
    out
}

/// One line per agent: `value` against N, linear axes from zero.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// A small line chart (N on x, one measure on y) for the cluster section.
pub fn lines(title: &str, y_unit: &str, series: &[Series]) -> String {
    let (width, height, left, right, top, bottom) = (560.0, 340.0, 60.0, 20.0, 40.0, 50.0);
    let all = series.iter().flat_map(|s| s.points.iter());
    let x_max = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let y_max = all.map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    let x = |v: f64| left + v / x_max * (width - left - right);
    let y = |v: f64| height - bottom - v / y_max * (height - top - bottom);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{left}\" y=\"20\" font-size=\"14\">{title}</text>\n<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">VIP resources on the node (N)</text>\n<text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">{y_unit}</text>\n",
        y(0.0),
        width - right,
        y(0.0),
        y(0.0),
        (left + width - right) / 2.0,
        height - 12.0,
        (top + height - bottom) / 2.0,
        (top + height - bottom) / 2.0,
    );
    for tick in 0..=4 {
        let value = y_max / 1.1 * f64::from(tick) / 4.0;
        writeln!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{value:.1}</text>",
            left - 6.0,
            y(value) + 4.0
        )
        .unwrap();
    }
    let xs: Vec<f64> = series.first().map(|s| s.points.iter().map(|p| p.0).collect()).unwrap_or_default();
    for n in xs {
        writeln!(out, "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{n:.0}</text>", x(n), y(0.0) + 16.0)
            .unwrap();
    }
    for (i, s) in series.iter().enumerate() {
        let path: Vec<String> =
            s.points.iter().map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py))).collect();
        writeln!(
            out,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            s.color,
            path.join(" ")
        )
        .unwrap();
        for (px, py) in &s.points {
            writeln!(out, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>", x(*px), y(*py), s.color)
                .unwrap();
        }
        let ly = top + 8.0 + i as f64 * 16.0;
        writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            left + 12.0,
            ly - 9.0,
            s.color,
            left + 26.0,
            ly,
            s.name
        )
        .unwrap();
    }
    out.push_str("</svg>\n");
    out
}
