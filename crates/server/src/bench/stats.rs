//! Latency summaries and the report table.

use std::time::Duration;

/// Latencies of repeated operations, summarised as percentiles.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `p`-th percentile (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut v = self.0.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1e3
    }

    pub fn p50_p99(&self) -> String {
        format!(
            "p50 {} ms, p99 {} ms",
            ms(self.percentile_ms(50.0)),
            ms(self.percentile_ms(99.0))
        )
    }
}

/// A millisecond figure with sensible precision.
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// A count with thousands separators: 1234567 → "1,234,567".
pub fn thousands(n: f64) -> String {
    let n = n.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1048576.0)
}

/// One line of the report: what was measured, safegrid's figure, the peer's, their ratio and the
/// target with whether it was met.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Row {
    pub measure: String,
    pub safegrid: String,
    pub peer: String,
    pub ratio: String,
    pub target: String,
    /// `Some(true)` met, `Some(false)` missed, `None` no target.
    pub met: Option<bool>,
}

impl Row {
    pub fn new(measure: impl Into<String>, safegrid: impl Into<String>) -> Row {
        Row {
            measure: measure.into(),
            safegrid: safegrid.into(),
            ..Row::default()
        }
    }

    pub fn peer(mut self, peer: impl Into<String>, ratio: Option<f64>) -> Row {
        self.peer = peer.into();
        self.ratio = ratio.map(|r| format!("{r:.1}×")).unwrap_or_default();
        self
    }

    pub fn target(mut self, target: impl Into<String>, met: bool) -> Row {
        self.target = target.into();
        self.met = Some(met);
        self
    }
}

/// The rows as a Markdown table (printed, and pasted into docs/performance.md).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| measure | safegrid | peer | ratio | target | met |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.measure, r.safegrid, r.peer, r.ratio, r.target, met
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut l = Latencies::default();
        for i in 1..=100 {
            l.push(Duration::from_millis(i));
        }
        assert_eq!(l.percentile_ms(50.0), 50.0);
        assert_eq!(l.percentile_ms(99.0), 99.0);
        assert_eq!(l.percentile_ms(100.0), 100.0);
        assert!(Latencies::default().percentile_ms(50.0).is_nan());
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(-1234.0), "-1,234");
    }

    #[test]
    fn markdown_marks_missed_targets() {
        let rows = vec![
            Row::new("a", "1").target("≥ 1", true),
            Row::new("b", "0").target("≥ 1", false),
        ];
        let md = markdown(&rows);
        assert!(md.contains("| a | 1 |  |  | ≥ 1 | yes |"));
        assert!(md.contains("| b | 0 |  |  | ≥ 1 | **no** |"));
    }
}
