//! [`Timestamp`]: a point in time as the WIT `datetime` record carries it, shown and parsed
//! as RFC 3339 text.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_SECOND: u32 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// A point in time in UTC: seconds since 1970-01-01T00:00:00Z and the nanoseconds within that
/// second, as the WIT `datetime` record (the shape of `wasi:clocks/wall-clock`'s, with
/// signed seconds) carries it.
///
/// [`Display`](fmt::Display) and serde write RFC 3339 text with microseconds and a `Z`
/// (`2026-04-25T08:30:00.000000Z`), the form the host's stores, command line and 0.1.0
/// interface use; [`FromStr`] reads RFC 3339 with any offset (converted to UTC) and any
/// number of fraction digits. Timestamps order by time.
///
/// ```
/// use bifrost_types::Timestamp;
///
/// let t: Timestamp = "2026-04-25T10:30:00+02:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-04-25T08:30:00.000000Z");
/// assert_eq!(t.seconds(), 1_777_105_800);
/// assert_eq!(Timestamp::new(t.seconds(), 0), Some(t));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    seconds: i64,
    nanoseconds: u32,
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp {
        seconds: 0,
        nanoseconds: 0,
    };

    /// The time `seconds` and `nanoseconds` after the Unix epoch; `None` if `nanoseconds` is
    /// not below 1,000,000,000.
    pub const fn new(seconds: i64, nanoseconds: u32) -> Option<Timestamp> {
        if nanoseconds < NANOS_PER_SECOND {
            Some(Timestamp {
                seconds,
                nanoseconds,
            })
        } else {
            None
        }
    }

    /// The time `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Timestamp {
        Timestamp {
            seconds: millis.div_euclid(1000),
            nanoseconds: (millis.rem_euclid(1000) as u32) * 1_000_000,
        }
    }

    /// Whole seconds since the Unix epoch (negative before it).
    pub const fn seconds(self) -> i64 {
        self.seconds
    }

    /// Nanoseconds within the second, below 1,000,000,000.
    pub const fn nanoseconds(self) -> u32 {
        self.nanoseconds
    }

    /// Milliseconds since the Unix epoch, rounded down.
    pub const fn unix_millis(self) -> i64 {
        self.seconds
            .saturating_mul(1000)
            .saturating_add((self.nanoseconds / 1_000_000) as i64)
    }

    /// The same time as a [`SystemTime`]; `None` if the platform's `SystemTime` cannot hold it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let nanos = Duration::from_nanos(u64::from(self.nanoseconds));
        if self.seconds >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(self.seconds as u64) + nanos)
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(self.seconds.unsigned_abs()))?
                .checked_add(nanos)
        }
    }

    /// How long after `earlier` this is; `None` if it is before `earlier`.
    pub fn duration_since(self, earlier: Timestamp) -> Option<Duration> {
        if self < earlier {
            return None;
        }
        let (mut secs, mut nanos) = (
            self.seconds.abs_diff(earlier.seconds),
            self.nanoseconds as i64 - earlier.nanoseconds as i64,
        );
        if nanos < 0 {
            secs -= 1;
            nanos += i64::from(NANOS_PER_SECOND);
        }
        Some(Duration::new(secs, nanos as u32))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp {
                seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanoseconds: d.subsec_nanos(),
            },
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => Timestamp {
                        seconds: -secs,
                        nanoseconds: 0,
                    },
                    n => Timestamp {
                        seconds: -secs - 1,
                        nanoseconds: NANOS_PER_SECOND - n,
                    },
                }
            }
        }
    }
}

/// The civil date (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The day count since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds (rounded down) and `Z`; a year outside 0..=9999
    /// is written with its sign and at least four digits, as chrono writes it.
    ///
    /// The one writer of the wire form of every time the host sends (log lines streamed,
    /// timestamps a guest receives, the 0.1.0 interface's text): written digit by digit
    /// into a buffer, as it runs for every log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.seconds.div_euclid(SECONDS_PER_DAY);
        let secs = self.seconds.rem_euclid(SECONDS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        let micros = self.nanoseconds / 1000;
        if !(0..=9999).contains(&year) {
            return write!(
                f,
                "{year:+05}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
            );
        }
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, year as u32);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, secs / 3600);
        put(14, 2, secs / 60 % 60);
        put(17, 2, secs % 60);
        put(20, 6, micros);
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

/// Text that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimestampError {
    input: String,
}

impl ParseTimestampError {
    /// The text that was given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an RFC 3339 date-time (e.g. 2026-04-25T08:30:00Z)",
            self.input
        )
    }
}

impl std::error::Error for ParseTimestampError {}

/// A cursor over ASCII text for the parser.
struct Text<'a>(&'a [u8]);

impl Text<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let (head, rest) = self.0.split_at_checked(n)?;
        let mut v = 0u32;
        for &b in head {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(b - b'0');
        }
        self.0 = rest;
        Some(v)
    }

    fn eat(&mut self, accepted: &[u8]) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        accepted.contains(&b).then(|| {
            self.0 = rest;
            b
        })
    }
}

fn parse(s: &str) -> Option<Timestamp> {
    let mut t = Text(s.trim().as_bytes());
    // A year of four digits, or a signed one of four or more (as Display writes it).
    let year: i64 = match t.eat(b"+-") {
        None => i64::from(t.digits(4)?),
        Some(sign) => {
            let n = t.0.iter().take_while(|b| b.is_ascii_digit()).count();
            if !(4..=9).contains(&n) {
                return None;
            }
            let v = i64::from(t.digits(n)?);
            if sign == b'-' { -v } else { v }
        }
    };
    t.eat(b"-")?;
    let month = t.digits(2)?;
    t.eat(b"-")?;
    let day = t.digits(2)?;
    t.eat(b"Tt ")?;
    let hour = t.digits(2)?;
    t.eat(b":")?;
    let minute = t.digits(2)?;
    t.eat(b":")?;
    let second = t.digits(2)?;
    let mut nanoseconds = 0u32;
    if t.eat(b".").is_some() {
        let n = t.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..n {
            let d = t.digits(1)?;
            if i < 9 {
                nanoseconds += d * 10u32.pow(8 - i as u32);
            }
        }
    }
    let offset = match t.eat(b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let hours = t.digits(2)?;
            t.eat(b":")?;
            let minutes = t.digits(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let v = i64::from(hours * 3600 + minutes * 60);
            if sign == b'-' { -v } else { v }
        }
    };
    if !t.0.is_empty()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset;
    Some(Timestamp {
        seconds,
        nanoseconds,
    })
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s).ok_or_else(|| ParseTimestampError {
            input: s.to_owned(),
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64, nanoseconds: u32) -> Timestamp {
        Timestamp::new(seconds, nanoseconds).unwrap()
    }

    #[test]
    fn displays_as_the_hosts_rfc3339() {
        assert_eq!(ts(0, 0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            ts(1_777_105_800, 123_456_789).to_string(),
            "2026-04-25T08:30:00.123456Z"
        );
        assert_eq!(
            ts(-1, 999_999_999).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            ts(951_782_400, 0).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            ts(253_402_300_800, 0).to_string(),
            "+10000-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn parses_what_it_displays_and_other_offsets() {
        for t in [
            ts(0, 0),
            ts(-86_401, 5_000),
            ts(1_777_105_800, 123_456_000),
            ts(253_402_300_800, 0),
            ts(-62_167_219_201, 0),
        ] {
            assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t), "{t}");
        }
        assert_eq!(
            "2026-04-25T10:30:00.5+02:00".parse::<Timestamp>(),
            Ok(ts(1_777_105_800, 500_000_000))
        );
        assert_eq!(
            "2026-04-25 08:30:00.1234567891z".parse::<Timestamp>(),
            Ok(ts(1_777_105_800, 123_456_789))
        );
        assert_eq!(
            "2026-04-24T23:30:00-09:00".parse::<Timestamp>(),
            Ok(ts(1_777_105_800, 0))
        );
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "2026-04-25",
            "2026-04-25T08:30:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-04-25T24:00:00Z",
            "2026-04-25T08:30:60Z",
            "2026-04-25T08:30:00.Z",
            "2026-04-25T08:30:00Z trailing",
            "2026-04-25T08:30:00+2:00",
        ] {
            let e = bad.parse::<Timestamp>().unwrap_err();
            assert_eq!(e.input(), bad);
            assert!(e.to_string().contains("RFC 3339"), "{e}");
        }
    }

    #[test]
    fn civil_days_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn millis_system_time_and_durations() {
        let t = Timestamp::from_unix_millis(-1);
        assert_eq!(t, ts(-1, 999_000_000));
        assert_eq!(t.unix_millis(), -1);
        for t in [ts(1_777_105_800, 123_456_789), ts(-5, 1)] {
            assert_eq!(Timestamp::from(t.to_system_time().unwrap()), t);
        }
        assert_eq!(
            ts(10, 100).duration_since(ts(8, 200)),
            Some(Duration::new(1, 999_999_900))
        );
        assert_eq!(ts(8, 200).duration_since(ts(10, 100)), None);
        assert_eq!(Timestamp::new(0, 1_000_000_000), None);
    }

    #[test]
    fn serde_is_the_text() {
        let t = ts(1_777_105_800, 0);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-04-25T08:30:00.000000Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
