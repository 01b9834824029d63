//! What a poll emits: the three polling strategies, and cron schedules.
//!
//! Pure functions over a [`PollState`], so every rule is tested here without
//! plugins or storage. The state is saved in the same transaction as the
//! runs a poll creates, which is what makes "never emitted twice" hold across
//! crashes.
//!
//! - `timestamp`: the mark is the latest timestamp emitted, plus the ids
//!   emitted at exactly that instant (two records may share a second). A
//!   record is new when it is later than the mark, or at the mark with an id
//!   not yet emitted. An updated record (same id, later time) is new again:
//!   that is what "modified since" triggers are for.
//! - `increasing-id`: the mark is the greatest id emitted; ids compare as
//!   integers when both are, as text otherwise (ULIDs, UUIDv7, zero-padded).
//! - `dedupe`: the host remembers the last [`SEEN_CAP`] ids, oldest evicted
//!   first; a record is new when its id is not among them.
//!
//! The first poll (no state, or state for another trigger) only seeds.
//!
//! A poll may emit at most `room` records (what the backlog and the
//! per-request cap leave). When more are new, the first `room` in the
//! strategy's order are emitted and the state covers exactly those: the mark
//! stops at the last one emitted, only emitted ids join the seen-set, and the
//! connector's own cursor is not advanced. The next poll fetches from the
//! same place and emits the rest, so no record is lost and none comes twice.

use chrono::{DateTime, TimeZone, Utc};
use weft_core::plugin::{Event, PollingStrategy};
use weft_core::trigger::PollState;

use std::cmp::Ordering;
use std::collections::HashSet;

/// How many ids a `dedupe` trigger remembers per flow.
pub const SEEN_CAP: usize = 10_000;

/// One poll: what the connector returned, and how much of it may be emitted.
#[derive(Debug)]
pub struct Polled {
    pub events: Vec<Event>,
    pub next_cursor: Option<String>,
    /// The first poll: emit nothing, record what exists now.
    pub seed: bool,
    /// Records this poll may emit at most.
    pub room: usize,
    pub now_ms: u64,
}

/// Apply `strategy` to the records of one poll. Returns the records to emit,
/// in order, and the state to save with them (`more` when new records were
/// left for the next poll).
pub fn select(
    strategy: PollingStrategy,
    previous: &PollState,
    polled: Polled,
) -> Result<(Vec<Event>, PollState), String> {
    let Polled { events, next_cursor, seed, now_ms, .. } = polled;
    let room = if seed { usize::MAX } else { polled.room };
    let mut state = PollState {
        key: previous.key.clone(),
        cursor: next_cursor.clone().or_else(|| previous.cursor.clone()),
        last_ms: now_ms,
        error: None,
        ..PollState::default()
    };
    let (emit, more) = match strategy {
        PollingStrategy::Timestamp => by_timestamp(previous, &mut state, events, room)?,
        PollingStrategy::IncreasingId => by_id(previous, &mut state, events, room),
        PollingStrategy::Dedupe => by_seen_set(previous, &mut state, events, room),
    };
    if more {
        // The connector's cursor may lie past what was left: fetch from the same place again.
        state.cursor = previous.cursor.clone();
        state.more = true;
    }
    Ok((if seed { Vec::new() } else { emit }, state))
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

fn by_timestamp(
    previous: &PollState,
    state: &mut PollState,
    events: Vec<Event>,
    room: usize,
) -> Result<(Vec<Event>, bool), String> {
    let mut timed = Vec::with_capacity(events.len());
    for event in events {
        let Some(text) = event.timestamp.as_deref() else {
            return Err(format!(
                "record {:?} has no timestamp, which this trigger's `timestamp` polling strategy needs",
                event.id
            ));
        };
        let Some(time) = parse_time(text) else {
            return Err(format!("record {:?} has timestamp {text:?}, which is not an RFC 3339 date-time", event.id));
        };
        timed.push((time, event));
    }
    timed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    timed.dedup_by(|a, b| a.0 == b.0 && a.1.id == b.1.id);
    let mark = previous.mark.as_deref().and_then(parse_time);
    let emitted_at_mark: HashSet<&str> = previous.at_mark.iter().map(String::as_str).collect();
    let mut new_mark = mark;
    let mut at_mark: Vec<String> = previous.at_mark.clone();
    let mut emit = Vec::new();
    let mut more = false;
    for (time, event) in timed {
        let fresh = match mark {
            None => true,
            Some(m) => time > m || (time == m && !emitted_at_mark.contains(event.id.as_str())),
        };
        if !fresh {
            continue;
        }
        if emit.len() == room {
            more = true;
            break;
        }
        if new_mark.is_none_or(|m| time > m) {
            new_mark = Some(time);
            at_mark.clear();
        }
        if new_mark == Some(time) {
            at_mark.push(event.id.clone());
        }
        emit.push(event);
    }
    state.mark = new_mark.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    state.at_mark = at_mark;
    Ok((emit, more))
}

/// Order of two record ids: as integers when both are, else as text.
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn by_id(previous: &PollState, state: &mut PollState, mut events: Vec<Event>, room: usize) -> (Vec<Event>, bool) {
    events.sort_by(|a, b| compare_ids(&a.id, &b.id));
    events.dedup_by(|a, b| a.id == b.id);
    let mark = previous.mark.as_deref();
    events.retain(|e| mark.is_none_or(|m| compare_ids(&e.id, m) == Ordering::Greater));
    let more = events.len() > room;
    events.truncate(room);
    state.mark = events.last().map(|e| e.id.clone()).or_else(|| previous.mark.clone());
    (events, more)
}

fn by_seen_set(previous: &PollState, state: &mut PollState, events: Vec<Event>, room: usize) -> (Vec<Event>, bool) {
    let mut seen: HashSet<String> = previous.seen.iter().cloned().collect();
    let mut order = previous.seen.clone();
    let mut emit = Vec::new();
    let mut more = false;
    for event in events {
        if seen.contains(&event.id) {
            continue;
        }
        if emit.len() == room {
            more = true;
            break;
        }
        seen.insert(event.id.clone());
        order.push_back(event.id.clone());
        emit.push(event);
    }
    while order.len() > SEEN_CAP {
        order.pop_front();
    }
    state.seen = order;
    (emit, more)
}

/// A parsed cron schedule in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    zone: chrono_tz::Tz,
}

impl Schedule {
    /// Parse a 5-field (minutes) or 6-field (seconds first) cron expression,
    /// or an alias such as `@hourly`, in the IANA zone `timezone` (UTC if none).
    pub fn parse(cron: &str, timezone: Option<&str>) -> Result<Self, String> {
        let zone = match timezone {
            None => chrono_tz::UTC,
            Some(name) => name
                .parse::<chrono_tz::Tz>()
                .map_err(|_| format!("{name:?} is not an IANA time zone (e.g. Europe/Oslo)"))?,
        };
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(cron)
            .map_err(|e| format!("{cron:?} is not a cron expression: {e}"))?;
        Ok(Self { cron, zone })
    }

    fn at(&self, ms: u64) -> DateTime<chrono_tz::Tz> {
        self.zone.timestamp_millis_opt(ms as i64).single().unwrap_or_else(|| Utc::now().with_timezone(&self.zone))
    }

    /// The first occurrence strictly after `after_ms`.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let next = self.cron.find_next_occurrence(&self.at(after_ms), false).ok()?;
        u64::try_from(next.timestamp_millis()).ok()
    }

    /// The latest occurrence at or before `at_ms`.
    pub fn latest_at_or_before(&self, at_ms: u64) -> Option<u64> {
        let previous = self.cron.find_previous_occurrence(&self.at(at_ms), true).ok()?;
        u64::try_from(previous.timestamp_millis()).ok()
    }

    /// `ms` as an RFC 3339 time in the schedule's zone.
    pub fn format(&self, ms: u64) -> String {
        self.at(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(id: &str, ts: Option<&str>) -> Event {
        Event { id: id.into(), timestamp: ts.map(Into::into), payload: json!({ "id": id }) }
    }

    fn ids(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.id.as_str()).collect()
    }

    /// One poll with room for everything.
    fn sel(
        strategy: PollingStrategy,
        previous: &PollState,
        events: Vec<Event>,
        next_cursor: Option<String>,
        seed: bool,
        now_ms: u64,
    ) -> Result<(Vec<Event>, PollState), String> {
        select(strategy, previous, Polled { events, next_cursor, seed, room: usize::MAX, now_ms })
    }

    /// A source of records that grows between polls, polled with room for
    /// 4 records at a time: every record comes out once, in order.
    #[test]
    fn a_poll_with_too_little_room_leaves_the_rest_for_the_next() {
        // Ids 1..=12; timestamps in pairs, so a cut can fall between two
        // records of the same instant.
        let record = |n: u32| ev(&n.to_string(), Some(&format!("2026-01-01T00:00:{:02}Z", n.div_ceil(2))));
        for strategy in [PollingStrategy::Timestamp, PollingStrategy::IncreasingId, PollingStrategy::Dedupe] {
            let mut all: Vec<Event> = (1..=3).map(record).collect();
            let polled = |all: &[Event], seed, room, cursor: Option<&str>| Polled {
                // The API answers newest first, and ignores the cursor.
                events: all.iter().rev().cloned().collect(),
                next_cursor: cursor.map(str::to_string),
                seed,
                room,
                now_ms: 1,
            };
            let (emit, mut state) = select(strategy, &PollState::default(), polled(&all, true, 4, Some("c0"))).unwrap();
            assert!(emit.is_empty() && !state.more, "{strategy:?}: seeding emits nothing");
            let mut emitted: Vec<String> = Vec::new();
            for round in 0..10 {
                // Two new records arrive between polls until there are 12.
                for n in all.len() as u32 + 1..=(all.len() as u32 + 2).min(12) {
                    all.push(record(n));
                }
                let cursor = format!("c{round}");
                let (emit, next) = select(strategy, &state, polled(&all, false, 4, Some(&cursor))).unwrap();
                assert!(emit.len() <= 4, "{strategy:?}: {} records emitted with room for 4", emit.len());
                if next.more {
                    assert_eq!(emit.len(), 4, "{strategy:?}: cut short only when full");
                    assert_eq!(next.cursor, state.cursor, "{strategy:?}: the connector's cursor waits");
                } else {
                    assert_eq!(next.cursor.as_deref(), Some(cursor.as_str()));
                }
                emitted.extend(emit.iter().map(|e| e.id.clone()));
                state = next;
            }
            let expected: Vec<String> = (4..=12).map(|n| n.to_string()).collect();
            let mut sorted = emitted.clone();
            sorted.sort_by(|a, b| compare_ids(a, b));
            assert_eq!(sorted, expected, "{strategy:?}: every new record once");
            let second = |id: &String| id.parse::<u32>().unwrap().div_ceil(2);
            match strategy {
                PollingStrategy::IncreasingId => assert_eq!(emitted, sorted, "in id order"),
                PollingStrategy::Timestamp => {
                    assert!(emitted.windows(2).all(|w| second(&w[0]) <= second(&w[1])), "in time order: {emitted:?}")
                }
                // In the API's order within each poll.
                PollingStrategy::Dedupe => {}
            }
            assert!(!state.more);
        }

        // Room for none: nothing is emitted and the state stays where it was.
        let (_, seeded) =
            sel(PollingStrategy::IncreasingId, &PollState::default(), vec![ev("1", None)], None, true, 1).unwrap();
        let (emit, state) = select(
            PollingStrategy::IncreasingId,
            &seeded,
            Polled { events: vec![ev("2", None)], next_cursor: None, seed: false, room: 0, now_ms: 2 },
        )
        .unwrap();
        assert!(emit.is_empty() && state.more);
        assert_eq!(state.mark.as_deref(), Some("1"));
    }

    #[test]
    fn timestamp_strategy_emits_later_and_same_instant_unseen_records_in_order() {
        let t = |s: &str| Some(format!("2026-01-01T00:00:{s}Z"));
        let batch = |list: &[(&str, &str)]| list.iter().map(|(id, s)| ev(id, t(s).as_deref())).collect::<Vec<_>>();
        let (emit, s1) =
            sel(PollingStrategy::Timestamp, &PollState::default(), batch(&[("a", "01"), ("b", "02")]), None, true, 1)
                .unwrap();
        assert!(emit.is_empty(), "seeding emits nothing");
        assert_eq!(s1.mark.as_deref(), Some("2026-01-01T00:00:02Z"));
        // b again (unchanged), c at the same second as b, a updated later, d later still; out of order.
        let (emit, s2) = sel(
            PollingStrategy::Timestamp,
            &s1,
            batch(&[("d", "09"), ("b", "02"), ("c", "02"), ("a", "05")]),
            None,
            false,
            2,
        )
        .unwrap();
        assert_eq!(ids(&emit), ["c", "a", "d"]);
        assert_eq!((s2.mark.as_deref(), s2.at_mark.as_slice()), (Some("2026-01-01T00:00:09Z"), &["d".to_string()][..]));
        let (emit, _) =
            sel(PollingStrategy::Timestamp, &s2, batch(&[("d", "09"), ("a", "05")]), None, false, 3).unwrap();
        assert!(emit.is_empty());
        // Offsets compare as instants.
        let late = vec![ev("e", Some("2026-01-01T01:00:10+01:00"))];
        let (emit, _) = sel(PollingStrategy::Timestamp, &s2, late, None, false, 4).unwrap();
        assert_eq!(ids(&emit), ["e"]);
        let err = sel(PollingStrategy::Timestamp, &s2, vec![ev("x", Some("yesterday"))], None, false, 5).unwrap_err();
        assert_eq!(err, "record \"x\" has timestamp \"yesterday\", which is not an RFC 3339 date-time");
        let err = sel(PollingStrategy::Timestamp, &s2, vec![ev("x", None)], None, false, 5).unwrap_err();
        assert!(err.contains("has no timestamp"), "{err}");
    }

    #[test]
    fn increasing_id_strategy_compares_numbers_as_numbers() {
        let batch = |list: &[&str]| list.iter().map(|id| ev(id, None)).collect::<Vec<_>>();
        let (_, s1) =
            sel(PollingStrategy::IncreasingId, &PollState::default(), batch(&["8", "9"]), None, true, 1).unwrap();
        assert_eq!(s1.mark.as_deref(), Some("9"));
        let (emit, s2) =
            sel(PollingStrategy::IncreasingId, &s1, batch(&["11", "9", "10", "10", "2"]), None, false, 2).unwrap();
        assert_eq!(ids(&emit), ["10", "11"]);
        let (emit, s3) = sel(PollingStrategy::IncreasingId, &s2, batch(&[]), None, false, 3).unwrap();
        assert!(emit.is_empty());
        assert_eq!(s3.mark.as_deref(), Some("11"), "an empty poll keeps the mark");
        assert_eq!(compare_ids("01HZ", "01HY"), Ordering::Greater);
    }

    #[test]
    fn dedupe_strategy_remembers_a_bounded_set() {
        let batch = |list: &[&str]| list.iter().map(|id| ev(id, None)).collect::<Vec<_>>();
        let (_, s1) = sel(PollingStrategy::Dedupe, &PollState::default(), batch(&["x", "y"]), None, true, 1).unwrap();
        let (emit, s2) = sel(PollingStrategy::Dedupe, &s1, batch(&["z", "x", "w", "z"]), None, false, 2).unwrap();
        assert_eq!(ids(&emit), ["z", "w"], "in the order the API returned them, each once");
        assert_eq!(s2.seen, ["x", "y", "z", "w"]);
        let many: Vec<Event> = (0..SEEN_CAP + 5).map(|i| ev(&i.to_string(), None)).collect();
        let (_, s3) = sel(PollingStrategy::Dedupe, &s2, many, None, false, 3).unwrap();
        assert_eq!(s3.seen.len(), SEEN_CAP);
        assert_eq!(s3.seen.back().map(String::as_str), Some("10004"));
    }

    #[test]
    fn connector_cursor_wins_over_the_mark() {
        let (_, s) =
            sel(PollingStrategy::IncreasingId, &PollState::default(), vec![ev("3", None)], None, true, 1).unwrap();
        assert_eq!(s.cursor_for_connector(), Some("3"));
        let (_, s) = sel(PollingStrategy::IncreasingId, &s, vec![], Some("page-2".into()), false, 2).unwrap();
        assert_eq!(s.cursor_for_connector(), Some("page-2"));
    }

    #[test]
    fn schedules_follow_their_time_zone() {
        let s = Schedule::parse("0 9 * * *", Some("Europe/Oslo")).unwrap();
        // 2026-01-15T00:00Z: 09:00 in Oslo (UTC+1 in winter) is 08:00Z.
        let midnight = 1_768_435_200_000;
        let next = s.next_after(midnight).unwrap();
        assert_eq!(s.format(next), "2026-01-15T09:00:00+01:00");
        assert_eq!(next - midnight, 8 * 3_600_000);
        assert_eq!(s.next_after(next).unwrap() - next, 24 * 3_600_000);
        assert_eq!(s.latest_at_or_before(next + 3_600_000), Some(next));
        assert!(Schedule::parse("*/5 * * * *", None).unwrap().next_after(midnight) == Some(midnight + 300_000));
        assert!(
            Schedule::parse("61 * * * *", None).unwrap_err().starts_with("\"61 * * * *\" is not a cron expression")
        );
        assert_eq!(
            Schedule::parse("* * * * *", Some("Mars/Olympus")).unwrap_err(),
            "\"Mars/Olympus\" is not an IANA time zone (e.g. Europe/Oslo)"
        );
    }
}
