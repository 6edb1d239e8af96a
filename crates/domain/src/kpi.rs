//! Evaluation counters and rates (综合评价, GB/T 30428.4 style, domain.md §8).
//!
//! Counters are kept as cases move, never by scanning cases: every transition yields a
//! [`Counters`] delta that storage adds to the rows of the case's grid, each of its ancestor
//! regions and its department. Deltas are attributed to the day the case was *reported*, so a
//! period's figures describe the cohort of cases reported in it and every rate stays within 0–1.

use serde::{Deserialize, Serialize};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Additive counts of one node (region, grid or department) on one day.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Counters { $($(#[$doc])* pub $name: i64,)* }

        impl Counters {
            /// Column names, in storage order.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($name)),*];

            pub fn add(&mut self, o: &Counters) { $(self.$name += o.$name;)* }

            pub fn values(&self) -> Vec<i64> { vec![$(self.$name),*] }

            pub fn from_values(v: &[i64]) -> Counters {
                let mut it = v.iter().copied();
                Counters { $($name: it.next().unwrap_or(0),)* }
            }

            pub fn is_zero(&self) -> bool { true $(&& self.$name == 0)* }
        }
    };
}

counters! {
    /// 上报数: cases reported through any channel.
    reported,
    /// Reports from grid workers on patrol (监督员/网格员上报).
    grid_reports,
    /// Grid-worker reports that were registered (valid).
    grid_reports_registered,
    /// 立案数: registered, including self-handled cases.
    registered,
    /// Registered within the register stage's limit.
    registered_on_time,
    /// 不予立案.
    rejected,
    /// 作废 after registration.
    voided,
    /// Linked as a duplicate (重复件).
    merged,
    /// 自处理 by a grid worker.
    self_handled,
    /// Cases dispatched at least once.
    dispatched,
    /// Every dispatch, re-dispatch included.
    dispatch_events,
    /// 退回 by a department.
    returned,
    /// Cases handled at least once (处置数), self-handled included.
    handled,
    /// First handling within the handle stage's limit.
    handled_on_time,
    /// Cases that failed verification at least once (返工).
    reworked,
    /// Verifications performed (核查/核实).
    verifications,
    /// Verifications performed within the verify stage's limit.
    verifications_on_time,
    /// 结案数.
    closed,
    /// Closed with no stage ever over its limit.
    closed_on_time,
    /// Cases that passed a limit at some stage (超期).
    overdue,
    /// Approved extensions (延期).
    extended,
    /// Suspensions (挂起).
    suspended,
    /// Supervision entries (督办), manual and automatic.
    supervised,
    /// 回访 ratings received.
    rated,
    /// Ratings of 4 or 5.
    satisfied,
    /// Sum of scores, for the mean.
    rating_sum,
    /// Disputes whose mediation ended: resolved, not resolved or handed on (a refusal of
    /// mediation is no mediation).
    disputes_concluded,
    /// Disputes resolved by mediation (化解成功).
    disputes_resolved,
}

/// Weights of the composite score (综合评分). The defaults are the department formula used in
/// practice: volume 10 %, close rate 30 %, on-time handling 30 %, (1 − rework rate) 30 %.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ScoreWeights {
    pub volume: f64,
    pub close_rate: f64,
    pub on_time_handling: f64,
    pub no_rework: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            volume: 0.10,
            close_rate: 0.30,
            on_time_handling: 0.30,
            no_rework: 0.30,
        }
    }
}

/// The rates of domain.md §8, each `None` when its denominator is zero.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rates {
    /// 结案率 = closed / due to close (registered − voided).
    pub close_rate: Option<f64>,
    /// 按期结案率 = closed on time / due to close.
    pub on_time_close_rate: Option<f64>,
    /// 处置率 = handled / due to handle (dispatched + self-handled).
    pub handling_rate: Option<f64>,
    /// 按期处置率 = handled on time / due to handle.
    pub on_time_handling_rate: Option<f64>,
    /// 返工率 = reworked / handled.
    pub rework_rate: Option<f64>,
    /// 准确立案率 = (registered − voided) / registered.
    pub accurate_registration_rate: Option<f64>,
    /// 按时立案率 = registered on time / registered.
    pub on_time_registration_rate: Option<f64>,
    /// 准确派遣率 = (dispatched − reworked) / dispatched.
    pub accurate_dispatch_rate: Option<f64>,
    /// 按时核实率 = verified on time / due to verify.
    pub on_time_verification_rate: Option<f64>,
    /// 监督举报率 = grid-worker reports registered / registered.
    pub supervision_report_rate: Option<f64>,
    /// 有效上报率 = valid (registered) reports / reports.
    pub valid_report_rate: Option<f64>,
    /// 满意率 = ratings of 4–5 / ratings.
    pub satisfaction_rate: Option<f64>,
    /// Mean follow-up score, 1–5.
    pub mean_rating: Option<f64>,
    /// 调处成功率 = disputes resolved / disputes concluded.
    pub dispute_success_rate: Option<f64>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Counters {
    pub fn due_to_close(&self) -> i64 {
        self.registered - self.voided
    }

    pub fn due_to_handle(&self) -> i64 {
        self.dispatched + self.self_handled
    }

    pub fn rates(&self) -> Rates {
        let due_close = self.due_to_close();
        let due_handle = self.due_to_handle();
        Rates {
            close_rate: ratio(self.closed, due_close),
            on_time_close_rate: ratio(self.closed_on_time, due_close),
            handling_rate: ratio(self.handled, due_handle),
            on_time_handling_rate: ratio(self.handled_on_time, due_handle),
            rework_rate: ratio(self.reworked, self.handled),
            accurate_registration_rate: ratio(self.registered - self.voided, self.registered),
            on_time_registration_rate: ratio(self.registered_on_time, self.registered),
            accurate_dispatch_rate: ratio(
                self.dispatched - self.reworked.min(self.dispatched),
                self.dispatched,
            ),
            on_time_verification_rate: ratio(self.verifications_on_time, self.verifications),
            supervision_report_rate: ratio(self.grid_reports_registered, self.registered),
            valid_report_rate: ratio(self.registered, self.reported),
            satisfaction_rate: ratio(self.satisfied, self.rated),
            mean_rating: ratio(self.rating_sum, self.rated),
            dispute_success_rate: ratio(self.disputes_resolved, self.disputes_concluded),
        }
    }

    /// Composite score 0–100 and its grade (A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below).
    /// `volume_score` (0–1) compares this node's volume with its peers; callers without peers pass 1.
    pub fn score(&self, weights: &ScoreWeights, volume_score: f64) -> Option<(f64, char)> {
        let r = self.rates();
        let close = r.close_rate?;
        let on_time = r.on_time_handling_rate.unwrap_or(close);
        let rework = r.rework_rate.unwrap_or(0.0);
        let total =
            weights.volume + weights.close_rate + weights.on_time_handling + weights.no_rework;
        if total <= 0.0 {
            return None;
        }
        let s = 100.0
            * (weights.volume * volume_score.clamp(0.0, 1.0)
                + weights.close_rate * close
                + weights.on_time_handling * on_time
                + weights.no_rework * (1.0 - rework))
            / total;
        Some((s, grade(s)))
    }
}

pub fn grade(score: f64) -> char {
    match score {
        s if s >= 90.0 => 'A',
        s if s >= 75.0 => 'B',
        s if s >= 60.0 => 'C',
        s if s >= 40.0 => 'D',
        _ => 'E',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_city_report_figures_come_out_of_the_formulas() {
        // A published city report: 972 due to close, 911 closed (93.72 %), 737 on time (75.82 %).
        let c = Counters {
            registered: 980,
            voided: 8,
            closed: 911,
            closed_on_time: 737,
            ..Default::default()
        };
        let r = c.rates();
        assert_eq!(c.due_to_close(), 972);
        assert!((r.close_rate.unwrap() - 0.9372).abs() < 5e-5);
        assert!((r.on_time_close_rate.unwrap() - 0.7582).abs() < 5e-5);
        assert_eq!(r.satisfaction_rate, None);
    }

    #[test]
    fn counters_add_and_round_trip_through_values() {
        let mut a = Counters {
            reported: 2,
            rating_sum: 9,
            ..Default::default()
        };
        let b = Counters {
            reported: 1,
            closed: 1,
            ..Default::default()
        };
        a.add(&b);
        assert_eq!(a.reported, 3);
        assert_eq!(Counters::from_values(&a.values()), a);
        assert_eq!(Counters::FIELDS.len(), a.values().len());
        assert!(!a.is_zero() && Counters::default().is_zero());
    }

    #[test]
    fn score_and_grade_follow_the_department_formula() {
        let c = Counters {
            registered: 100,
            dispatched: 100,
            handled: 100,
            handled_on_time: 90,
            reworked: 10,
            closed: 100,
            ..Default::default()
        };
        let (s, g) = c.score(&ScoreWeights::default(), 1.0).unwrap();
        // 10 + 30·1 + 30·0.9 + 30·0.9 = 94
        assert!((s - 94.0).abs() < 1e-9);
        assert_eq!(g, 'A');
        assert_eq!(grade(74.9), 'C');
        assert_eq!(grade(39.0), 'E');
    }

    #[test]
    fn dispute_success_rate_is_resolved_over_concluded() {
        let c = Counters {
            disputes_concluded: 25,
            disputes_resolved: 24,
            ..Default::default()
        };
        assert_eq!(c.rates().dispute_success_rate, Some(0.96));
        assert_eq!(Counters::default().rates().dispute_success_rate, None);
        assert_eq!(Counters::FIELDS.last(), Some(&"disputes_resolved"));
    }
}
