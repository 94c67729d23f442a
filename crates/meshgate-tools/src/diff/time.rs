//! Candidate instants of the time dimension: weeks and days of 2026, the days around each
//! transition and named date or instant, each at every offset past the hour (minute) where a
//! zone's clock turns, and one week of every combination of the zones' offsets over their
//! history to 2100.
//!
//! Invariant: two instants are alike for every time test when each zone's local weekday, date,
//! hour and minute and the side of every named date and instant agree; the intervals of
//! [`offset_intervals`] keep those fixed up to a whole number of weeks, so one week of each
//! interval kind, at each residue, reaches every class (up to the limits, which are reported).

use std::collections::{HashMap, HashSet};

use super::builder::Seeds;

/// Candidate instants of the time dimension, and why they may not cover every class (empty
/// when they do). First the instants of the weeks, days and fortnights listed in the module
/// doc, on whole UTC hours (minutes); then the same spans at the other offsets of an hour
/// (minute) where a zone's clock turns; then [`history_candidates`].
pub(super) fn time_candidates(seeds: &Seeds) -> (Vec<jiff::Timestamp>, Vec<String>) {
    use jiff::{SignedDuration, Timestamp};
    let step = if seeds.minutes {
        SignedDuration::from_mins(1)
    } else {
        SignedDuration::from_hours(1)
    };
    let mut starts: Vec<Timestamp> = Vec::new();
    let base = |s: &str| s.parse::<Timestamp>().ok();
    starts.extend(base("2026-01-04T00:00:00Z"));
    starts.extend(base("2026-07-05T00:00:00Z"));
    let year_start = base("2026-01-01T00:00:00Z");
    let year_end = base("2027-01-01T00:00:00Z");
    if let (Some(y0), Some(y1)) = (year_start, year_end) {
        for z in &seeds.zones {
            for tr in z.following(y0).take(8) {
                if tr.timestamp() < y1 {
                    starts.push(tr.timestamp());
                }
            }
        }
    }
    let days = |n: i64| SignedDuration::from_hours(n.saturating_mul(24));
    let mut out = Vec::new();
    let mut spans: Vec<(Timestamp, SignedDuration)> = Vec::new();
    let mut span = |start: Timestamp, len: SignedDuration| {
        spans.push((start, len));
        let mut t = start;
        let end = start.checked_add(len).unwrap_or(start);
        while t < end {
            out.push(t);
            t = match t.checked_add(step) {
                Ok(next) => next,
                Err(_) => break,
            };
        }
    };
    for s in starts {
        span(s.checked_sub(days(1)).unwrap_or(s), days(9));
    }
    for d in &seeds.dates {
        if let Ok(t) =
            jiff::tz::TimeZone::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        {
            span(t.checked_sub(days(8)).unwrap_or(t), days(17));
        }
    }
    let mut exact_points = Vec::new();
    for t in &seeds.times {
        let tick = SignedDuration::from_nanos(1);
        exact_points.extend(
            [t.checked_sub(tick).ok(), Some(*t), t.checked_add(tick).ok()]
                .into_iter()
                .flatten(),
        );
        if *t > Timestamp::MIN && *t < Timestamp::MAX {
            span(t.checked_sub(days(8)).unwrap_or(*t), days(16));
        }
    }
    out.extend(exact_points);
    let unit = if seeds.minutes { 60 } else { 3600 };
    let zones = distinct_zones(seeds);
    let (intervals, mut inexact) = offset_intervals(&zones, seeds);
    let residues = residues(&intervals, unit);
    for (start, len) in spans {
        for base in aligned(start, len, unit) {
            out.extend(
                residues
                    .iter()
                    .filter(|r| **r != 0)
                    .filter_map(|r| Timestamp::from_second(base.checked_add(*r)?).ok()),
            );
        }
    }
    if history_candidates(&intervals, &residues, unit, &mut out) {
        inexact.push(format!(
            "`time`: the zones' offset history needs more than {MAX_HISTORY_CANDIDATES} instants"
        ));
    }
    (out, inexact)
}

/// The zones the rules name, each once.
pub(super) fn distinct_zones(seeds: &Seeds) -> Vec<&jiff::tz::TimeZone> {
    let mut zones: Vec<&jiff::tz::TimeZone> = Vec::new();
    for z in &seeds.zones {
        if !zones.contains(&z) {
            zones.push(z);
        }
    }
    zones
}

/// The last instant whose offsets the diff walks: zones repeat their rules after it.
pub(super) const HISTORY_END: &str = "2100-01-01T00:00:00Z";
/// Most transitions walked per zone.
pub(super) const MAX_TRANSITIONS: usize = 10_000;
/// Most instants tried for the zones' offset history.
pub(super) const MAX_HISTORY_CANDIDATES: usize = 200_000;

/// A stretch of time in which every zone keeps one offset and no date or instant a rule names
/// is passed: its start, end (exclusive), the zones' offsets in seconds, and its place among
/// the named dates and instants.
pub(super) struct Interval {
    pub(super) start: jiff::Timestamp,
    pub(super) end: jiff::Timestamp,
    pub(super) offsets: Vec<i32>,
    pub(super) place: usize,
}

/// The zones' history cut into [`Interval`]s, from before their first transition to
/// [`HISTORY_END`] and a week beyond, and why it is incomplete (empty when it is not).
pub(super) fn offset_intervals(
    zones: &[&jiff::tz::TimeZone],
    seeds: &Seeds,
) -> (Vec<Interval>, Vec<String>) {
    use jiff::{SignedDuration, Timestamp};
    let mut inexact = Vec::new();
    let Ok(end) = HISTORY_END.parse::<Timestamp>() else {
        return (
            Vec::new(),
            vec!["`time`: no end for the zones' history".to_string()],
        );
    };
    let days = |n: i64| SignedDuration::from_hours(n.saturating_mul(24));
    let mut points: Vec<Timestamp> = Vec::new();
    for z in zones {
        let mut n = 0usize;
        for tr in z.following(Timestamp::MIN) {
            if tr.timestamp() >= end {
                break;
            }
            if n >= MAX_TRANSITIONS {
                inexact.push(format!(
                    "`time`: a zone has more than {MAX_TRANSITIONS} transitions before 2100"
                ));
                break;
            }
            n = n.saturating_add(1);
            points.push(tr.timestamp());
        }
    }
    // Named dates and instants split intervals, so that two instants of one interval are on
    // the same side of each. A date's zoned day lies within two days of its UTC midnight (the
    // fortnight tried around it covers those days instant by instant); an instant and the next
    // nanosecond bound an interval of their own (`time > t` and `time >= t` differ there).
    let mut marks: Vec<Timestamp> = Vec::new();
    for d in &seeds.dates {
        if let Ok(t) =
            jiff::tz::TimeZone::UTC.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        {
            marks.extend(
                [t.checked_sub(days(2)).ok(), t.checked_add(days(3)).ok()]
                    .into_iter()
                    .flatten(),
            );
        }
    }
    for t in &seeds.times {
        marks.push(*t);
        marks.extend(t.checked_add(SignedDuration::from_nanos(1)).ok());
    }
    marks.sort();
    marks.dedup();
    points.extend(marks.iter().copied());
    points.push(end);
    points.sort();
    points.dedup();
    let first = points
        .first()
        .and_then(|p| p.checked_sub(days(8)).ok())
        .unwrap_or(Timestamp::MIN);
    let mut starts = vec![first];
    starts.extend(points.iter().copied().filter(|p| *p > first));
    let mut out = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = match starts.get(i.saturating_add(1)) {
            Some(e) => *e,
            None => start.checked_add(days(8)).unwrap_or(Timestamp::MAX),
        };
        out.push(Interval {
            start,
            end,
            offsets: zones.iter().map(|z| z.to_offset(start).seconds()).collect(),
            place: marks.partition_point(|m| *m <= start),
        });
    }
    (out, inexact)
}

/// The seconds past a whole UTC hour (`unit` 3600) or minute (60) at which some zone's clock
/// turns to a new hour (minute) in some interval: 0, and e.g. 1800 for UTC+5:30.
pub(super) fn residues(intervals: &[Interval], unit: i64) -> Vec<i64> {
    let mut out = vec![0];
    for o in intervals.iter().flat_map(|i| &i.offsets) {
        let r = i64::from(*o).saturating_neg().rem_euclid(unit);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out.sort_unstable();
    out
}

/// The whole UTC hours (minutes, `unit` 60), as seconds, from the one at or before `start`
/// to `start + len`.
pub(super) fn aligned(start: jiff::Timestamp, len: jiff::SignedDuration, unit: i64) -> Vec<i64> {
    let from = start.as_second().div_euclid(unit).saturating_mul(unit);
    let to = start.as_second().saturating_add(len.as_secs());
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        out.push(t);
        t = match t.checked_add(unit) {
            Some(next) => next,
            None => break,
        };
    }
    out
}

/// Adds to `out` an instant of every class the intervals hold: instants of one interval are
/// alike when they are a whole number of weeks apart (each zone's weekday, hour and minute
/// then agree, and so does every named date and instant), so each interval's offsets and
/// place need each hour (minute) of a week, at each residue, once. `true` when it stopped at
/// [`MAX_HISTORY_CANDIDATES`].
pub(super) fn history_candidates(
    intervals: &[Interval],
    residues: &[i64],
    unit: i64,
    out: &mut Vec<jiff::Timestamp>,
) -> bool {
    use jiff::{SignedDuration, Timestamp};
    const WEEK: i64 = 7 * 24 * 3600;
    let full = usize::try_from(WEEK.checked_div(unit).unwrap_or(0))
        .unwrap_or(usize::MAX)
        .saturating_mul(residues.len());
    let mut seen: HashMap<(&[i32], usize), HashSet<i64>> = HashMap::new();
    let mut added = 0usize;
    for iv in intervals {
        let week_seen = seen.entry((&iv.offsets, iv.place)).or_default();
        if week_seen.len() >= full {
            continue;
        }
        // The interval's own start, when it cuts a clock's hour (minute): the part after it.
        let start_second = iv.start.as_second();
        if iv.start.subsec_nanosecond() != 0 || !residues.contains(&start_second.rem_euclid(unit)) {
            added = added.saturating_add(1);
            out.push(iv.start);
        }
        let len = iv
            .end
            .duration_since(iv.start)
            .min(SignedDuration::from_hours(8 * 24));
        for base in aligned(iv.start, len, unit) {
            for r in residues {
                let Some(Ok(t)) = base.checked_add(*r).map(Timestamp::from_second) else {
                    continue;
                };
                if t < iv.start || t >= iv.end {
                    continue;
                }
                if week_seen.insert(t.as_second().rem_euclid(WEEK)) {
                    if added >= MAX_HISTORY_CANDIDATES {
                        return true;
                    }
                    added = added.saturating_add(1);
                    out.push(t);
                }
            }
        }
    }
    false
}
