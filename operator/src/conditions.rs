//! Status conditions: built fresh each reconcile, but keeping their transition time when
//! nothing about them changed, so an unchanged status is never rewritten.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// A condition to report: type, status, reason, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub type_: &'static str,
    pub ok: bool,
    pub reason: String,
    pub message: String,
}

impl Want {
    pub fn new(
        type_: &'static str,
        ok: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Want {
        Want {
            type_,
            ok,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The conditions to write: `wanted`, with `lastTransitionTime` carried over from
/// `current` where the status is the same.
pub fn merge(
    current: &[Condition],
    wanted: &[Want],
    generation: Option<i64>,
    now: Time,
) -> Vec<Condition> {
    wanted
        .iter()
        .map(|w| {
            let status = if w.ok { "True" } else { "False" };
            let since = current
                .iter()
                .find(|c| c.type_ == w.type_ && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            Condition {
                type_: w.type_.to_owned(),
                status: status.to_owned(),
                reason: w.reason.clone(),
                message: w.message.clone(),
                observed_generation: generation,
                last_transition_time: since,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_times_survive_while_the_status_holds() {
        let t0 = Time(jiff::Timestamp::UNIX_EPOCH);
        let t1 = Time(jiff::Timestamp::now());
        let first = merge(
            &[],
            &[Want::new("Ready", true, "Valid", "ok")],
            Some(1),
            t0.clone(),
        );
        let again = merge(
            &first,
            &[Want::new("Ready", true, "Valid", "still ok")],
            Some(2),
            t1.clone(),
        );
        assert_eq!(again[0].last_transition_time, t0);
        let flipped = merge(
            &again,
            &[Want::new("Ready", false, "Bad", "no")],
            Some(3),
            t1.clone(),
        );
        assert_eq!(flipped[0].last_transition_time, t1);
    }
}
