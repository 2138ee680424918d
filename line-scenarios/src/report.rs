//! The report as a self-contained HTML page: no external assets (inline CSS, an inline SVG funnel
//! chart per scenario), every scenario, step and reason text HTML-escaped.
//!
//! The page is made for people and checked by machines: each table cell has a `data-col` naming
//! its column and each funnel bar (`<rect class="bar">`) carries `data-kind` (`entered`, `step`,
//! `conversions`), `data-step` and `data-count`.

use std::fmt::Write as _;

use crate::stats::{line_count, percent, skipped_text, yen, Row};
use crate::store::ExitReason;

/// Escapes text for HTML content and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif;margin:2rem;color:#1d2327;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:right;white-space:nowrap}
th{background:#f3f5f7}td.text,th.text{text-align:left}
tr.total td{font-weight:600;background:#f8faf8}
svg .bar{fill:#06c755}svg .bar.entered{fill:#2a7de1}svg .bar.conversions{fill:#e17a2a}
svg text{font-size:12px;fill:#1d2327}
p.note{font-size:.8rem;color:#57606a}
";

/// One column of the table: its `data-col` name, its header, and its cell.
type Column = (&'static str, &'static str, fn(&Row) -> String);

fn columns() -> Vec<Column> {
    fn entered(r: &Row) -> String {
        if r.step.is_none() {
            r.counts.entered.to_string()
        } else {
            String::new()
        }
    }
    fn goal(r: &Row) -> String {
        if r.step.is_none() {
            r.counts.exited.get(&ExitReason::Goal).copied().unwrap_or(0).to_string()
        } else {
            String::new()
        }
    }
    vec![
        ("entered", "entered", entered),
        ("sent", "sent", |r| r.counts.sent.to_string()),
        ("skipped", "skipped", |r| skipped_text(&r.counts)),
        ("deferred", "deferred", |r| r.counts.deferred.to_string()),
        ("goal_exits", "goal exits", goal),
        ("conversions", "conv", |r| r.counts.conversions.to_string()),
        ("revenue", "revenue", |r| yen(r.counts.revenue)),
        ("clicks", "clicks (tracked)", |r| r.counts.clicks.to_string()),
        ("line_opens", "LINE opens", |r| line_count(r.line.and_then(|l| l.opens))),
        ("line_clicks", "LINE clicks", |r| {
            line_count(r.line.and_then(|l| l.clicks))
        }),
        ("cost", "cost", |r| yen(r.cost)),
        ("cvr", "CVR", |r| percent(r.cvr_percent())),
        ("roas", "ROAS", |r| percent(r.roas_percent())),
    ]
}

/// The funnel of one scenario: entered, then one bar per step row (its sends, or its acts for a
/// step that only acts), then conversions.
fn funnel(out: &mut String, total: &Row, steps: &[&Row]) {
    let mut bars: Vec<(&str, String, u64)> = vec![("entered", "entered".to_owned(), total.counts.entered)];
    for r in steps {
        let n = if r.counts.sent == 0 {
            r.counts.acted
        } else {
            r.counts.sent
        };
        bars.push(("step", r.step.clone().unwrap_or_default(), n));
    }
    bars.push(("conversions", "conversions".to_owned(), total.counts.conversions));
    let max = bars.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (180.0, 420.0, 26.0);
    let height = row_h * bars.len() as f64 + 8.0;
    let _ = write!(
        out,
        "<svg class=\"funnel\" role=\"img\" aria-label=\"funnel of {}\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(&total.scenario),
        label_w + bar_w + 80.0,
        label_w + bar_w + 80.0,
    );
    for (i, (kind, label, n)) in bars.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let w = bar_w * (*n as f64) / (max as f64);
        // Long ids are cut on the chart (the table and the tooltip keep them whole).
        let shown: String = if label.chars().count() > 24 {
            label.chars().take(23).chain(std::iter::once('\u{2026}')).collect()
        } else {
            label.clone()
        };
        let step_attr = if *kind == "step" {
            format!(" data-step=\"{}\"", escape(label))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar {kind}\" data-kind=\"{kind}\"{step_attr} data-count=\"{n}\" x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\"><title>{}: {n}</title></rect>\
             <text x=\"{:.1}\" y=\"{}\">{n}</text>",
            label_w - 8.0,
            y + row_h * 0.62,
            escape(&shown),
            row_h - 6.0,
            escape(label),
            label_w + w + 6.0,
            y + row_h * 0.62,
        );
    }
    out.push_str("</svg>");
}

/// The report page for `rows` (from [`crate::stats::report`], with
/// [`crate::stats::merge_line_stats`] when LINE's counts were fetched), titled `title`.
pub fn render_html(title: &str, rows: &[Row]) -> String {
    let cols = columns();
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    // Rows come as: a scenario's total row, then its step rows.
    let mut i = 0;
    while i < rows.len() {
        let total = &rows[i];
        let mut j = i + 1;
        while j < rows.len() && rows[j].step.is_some() && rows[j].scenario == total.scenario {
            j += 1;
        }
        let steps: Vec<&Row> = rows[i + 1..j].iter().collect();
        let heading = match &total.name {
            Some(name) => format!("{name} ({})", total.scenario),
            None => total.scenario.clone(),
        };
        let _ = writeln!(
            out,
            "<section class=\"scenario\" data-scenario=\"{}\"><h2>{}</h2>",
            escape(&total.scenario),
            escape(&heading)
        );
        funnel(&mut out, total, &steps);
        out.push_str("\n<table><thead><tr><th class=\"text\">step</th>");
        for (_, header, _) in &cols {
            let _ = write!(out, "<th>{}</th>", escape(header));
        }
        out.push_str("</tr></thead><tbody>\n");
        for r in std::iter::once(total).chain(steps.iter().copied()) {
            let (class, step) = match &r.step {
                None => (" class=\"total\"", "(all)".to_owned()),
                Some(s) => ("", s.clone()),
            };
            let _ = write!(
                out,
                "<tr{class} data-step=\"{}\"><td class=\"text\" data-col=\"step\">{}</td>",
                escape(&step),
                escape(&step)
            );
            for (name, _, cell) in &cols {
                let text = cell(r);
                let class = if *name == "skipped" { " class=\"text\"" } else { "" };
                let _ = write!(out, "<td{class} data-col=\"{name}\">{}</td>", escape(&text));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></section>\n");
        i = j;
    }
    out.push_str(
        "<p class=\"note\">CVR: conversions per entry (scenario) or per send (step). ROAS: revenue over \
         the cost of the messages under the plan. Clicks (tracked): users who opened a tracked link, \
         once per send. LINE opens and clicks: LINE's own counts per aggregation unit; \u{2018}-\u{2019} \
         where LINE withholds a count under 20 users or none was fetched.</p>\n</body></html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }
}
