//! Dispatch and handling (派遣处置): sending a case to a department and back, verifying the
//! result.

use super::Step;

/// Hands a case to a department (派遣, and a petition's 转送), counted as dispatched once and
/// as a dispatch event every time.
pub(super) fn send_to_department(s: &mut Step, department: &str) {
    s.c.department = Some(department.to_string());
    if s.case.dispatched_at.is_none() {
        s.k.dispatched += 1;
    }
    s.c.dispatched_at = Some(s.now());
    s.k.dispatch_events += 1;
    s.data.insert("department".into(), department.into());
}

/// A department gives a case back (退回, and a petition's 异议): recorded and counted as returned.
pub(super) fn take_back(s: &mut Step) {
    s.data
        .insert("department".into(), s.case.department.clone().into());
    s.c.department = None;
    s.c.return_count += 1;
    s.k.returned += 1;
}

/// Verification (核查): a pass verifies, a fail sends the case back to rework.
pub(super) fn verify(s: &mut Step, passed: bool) {
    s.k.verifications += 1;
    s.k.verifications_on_time += i64::from(s.left_on_time);
    if passed {
        s.c.verified_at = Some(s.now());
    } else {
        if s.case.rework_count == 0 {
            s.k.reworked += 1;
        }
        s.c.rework_count += 1;
    }
    s.data.insert("passed".into(), passed.into());
}
