//! Strategies: arbitrary and near-miss arguments for every host function.

use super::*;

/// Valid but unusual Unicode, in pieces.
pub(crate) const ODD: &[&str] = &[
    "",
    "\0",
    "\u{FFFF}",
    "\u{FFFE}",
    "\u{10FFFF}",
    "\u{200F}",
    "\u{202E}",
    "\u{2066}",
    "\u{FEFF}",
    "😀",
    "👩\u{200D}👩\u{200D}👧",
    "e\u{301}",
    "İ",
    "ß",
    "ﬁ",
    "\u{3000}",
    "\u{A0}",
    "\u{85}",
    "\u{2028}",
    "\t",
    "\r\n",
    "'",
    "\"",
    "\\",
    "%",
    "_",
    "--",
    ";",
    "alpha",
    "0",
];

pub(crate) const SQL: &[&str] = &[
    "'; DROP TABLE executions; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "1; DELETE FROM execution_logs",
    "%",
    "_",
    "alpha' --",
    "') UNION SELECT * FROM executions --",
    "\\'",
    "NULL",
];

pub(crate) fn odd_unicode() -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(ODD), 0..10)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Long strings, up to a little over 64 KiB, with sizes at the documented limits.
pub(crate) fn long_text() -> BoxedStrategy<String> {
    (
        prop::sample::select(&['x', 'é', '😀', '\0', '"'][..]),
        prop_oneof![
            1_000usize..70_000,
            prop::sample::select(&[16_384usize, 16_385, 65_535, 65_536, 65_537][..]),
        ],
    )
        .prop_map(|(c, n)| c.to_string().repeat(n.div_ceil(c.len_utf8())))
        .boxed()
}

/// Any text: arbitrary, unusual Unicode, SQL-shaped, long (weight `long` in 10 + `long`).
pub(crate) fn text_with(long: u32) -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        2 => ".*",
        3 => odd_unicode(),
        1 => prop::sample::select(SQL).prop_map(str::to_owned),
        long => long_text(),
    ]
    .boxed()
}

pub(crate) fn text() -> BoxedStrategy<String> {
    text_with(1)
}

pub(crate) fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => ".{0,12}",
        1 => odd_unicode(),
        1 => prop::sample::select(&["a", "b", "", "__proto__", "$ref"][..]).prop_map(str::to_owned),
    ]
    .boxed()
}

pub(crate) fn count() -> BoxedStrategy<u32> {
    prop_oneof![
        prop::sample::select(&[0u32, 1, 2, 999, 1000, 1001, u32::MAX][..]),
        0u32..60,
        any::<u32>(),
    ]
    .boxed()
}

pub(crate) fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO)
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        short_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((short_text(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

pub(crate) fn json_object() -> BoxedStrategy<Value> {
    prop::collection::vec((short_text(), json_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
        .boxed()
}

/// Text that is JSON or nearly.
pub(crate) const JSON_ODD: &[&str] = &[
    "{}",
    "[]",
    "null",
    "true",
    "0",
    "-0",
    "1e308",
    "1e309",
    "-1e400",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "4.9e-324",
    "1.7976931348623157e308",
    "NaN",
    "Infinity",
    "-Infinity",
    "\"str\"",
    "\"\"",
    "{\"a\":",
    "{\"a\":1",
    "{\"a\":1}}",
    "{'a':1}",
    "{a:1}",
    "{\"a\":1,}",
    "[1,2",
    "[1,2,]",
    "",
    " ",
    "\u{FEFF}{}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\\ud800\"}",
    "{\"\\u0000\":\"\\u0000\"}",
    "{\"a\":1,\"a\":2}",
    "{\"a\":1} trailing",
    "{\"a\":1}{\"b\":2}",
    "\n{\"a\":1}\n",
    "/* c */{}",
    "{\"a\":01}",
    "{\"a\":+1}",
    "{\"a\":.5}",
    "{\"a\":1.}",
    "{\"a\":tru}",
    "{\"a\":undefined}",
    "{\"a\":NaN}",
    "{\"__proto__\":{\"x\":1}}",
    "{\"😀\":\"\u{202E}\"}",
    "{\"a\":\"\\u00\"}",
    "{\"a\":\"\t\"}",
];

/// Nesting at and around serde_json's depth limit (128).
pub(crate) fn nested_json() -> BoxedStrategy<String> {
    (prop_oneof![1usize..=300, 118usize..=132], 0u8..5)
        .prop_map(|(d, kind)| match kind {
            0 => format!("{}{}", "[".repeat(d), "]".repeat(d)),
            1 => format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d)),
            2 => "[".repeat(d),
            3 => format!("{}{{}}{}", "{\"a\":".repeat(d), "}".repeat(d)),
            _ => format!("{}0{}", "{\"a\":[".repeat(d / 2), "]}".repeat(d / 2)),
        })
        .boxed()
}

pub(crate) fn long_json() -> BoxedStrategy<String> {
    (
        prop_oneof![
            1_000usize..70_000,
            prop::sample::select(&[16_370usize, 16_380, 65_520, 65_530, 65_540][..]),
        ],
        0u8..3,
    )
        .prop_map(|(n, kind)| match kind {
            0 => format!("\"{}\"", "x".repeat(n)),
            1 => format!("{{\"k\":\"{}\"}}", "x".repeat(n)),
            _ => format!("[{}0]", "0,".repeat(n / 2)),
        })
        .boxed()
}

pub(crate) fn json_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => json_object().prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => json_value().prop_map(|v| serde_json::to_string_pretty(&v).expect("JSON")),
        2 => prop::sample::select(JSON_ODD).prop_map(str::to_owned),
        2 => nested_json(),
        1 => (json_object(), any::<prop::sample::Index>()).prop_map(|(v, i)| {
            let s = v.to_string();
            let mut cut = i.index(s.len() + 1);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s[..cut].to_owned()
        }),
        1 => long_json(),
        2 => text(),
    ]
    .boxed()
}

pub(crate) fn level() -> BoxedStrategy<LogLevel> {
    prop::sample::select(
        &[
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
        ][..],
    )
    .boxed()
}

pub(crate) fn ctx_kind() -> BoxedStrategy<CtxKind> {
    prop_oneof![
        5 => (0usize..5).prop_map(CtxKind::Outside),
        3 => Just(CtxKind::Running),
        1 => Just(CtxKind::Phantom),
    ]
    .boxed()
}

/// Generators that know the fixture's ids, times and cursors.
pub(crate) struct Gen {
    pub(crate) ids: Vec<Uuid>,
    pub(crate) log_ids: Vec<String>,
    pub(crate) names: Vec<String>,
    pub(crate) times: Vec<DateTime<Utc>>,
    pub(crate) cursors: Vec<String>,
}

impl Gen {
    /// Execution ids: real ones in every spelling, unknown ones, near misses, garbage.
    pub(crate) fn id(&self) -> BoxedStrategy<String> {
        let known = prop::sample::select(self.ids.clone());
        let bad_char = prop::sample::select(&['g', 'Z', '-', ' ', 'é', '\0', '😀', 'G', '.'][..]);
        prop_oneof![
            3 => known.clone().prop_map(|u| u.to_string()),
            2 => (known.clone(), 1u8..7).prop_map(|(u, s)| {
                let s = [
                    Spelling::Upper,
                    Spelling::Padded,
                    Spelling::Braced,
                    Spelling::Simple,
                    Spelling::Urn,
                    Spelling::Canonical,
                ][usize::from(s - 1)];
                spell(u, s).expect("an explicit spelling")
            }),
            1 => (known.clone(), prop::sample::select(ODD)).prop_map(|(u, pad)| format!("{pad}{u}{pad}")),
            2 => any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
            2 => (known.clone(), 0usize..36, bad_char).prop_map(|(u, i, c)| {
                u.to_string()
                    .chars()
                    .enumerate()
                    .map(|(j, d)| if i == j { c } else { d })
                    .collect()
            }),
            1 => (known, any::<bool>()).prop_map(|(u, longer)| {
                let s = u.to_string();
                if longer { format!("{s}0") } else { s[..35].to_owned() }
            }),
            1 => prop::sample::select(&[
                "00000000-0000-0000-0000-000000000000",
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
                "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
                "00000000000000000000000000000000",
                "{00000000-0000-0000-0000-000000000000}",
                "urn:uuid:00000000-0000-0000-0000-000000000000",
                "0000000-00000-0000-0000-000000000000",
                "00000000-0000-0000-0000-00000000000g",
                "0x00000000000000000000000000000000",
                "",
            ][..]).prop_map(str::to_owned),
            1 => prop::sample::select(SQL).prop_map(str::to_owned),
            2 => text(),
        ]
        .boxed()
    }

    /// Stream ids: real ones, well-formed ones anywhere in u64, malformed ones.
    pub(crate) fn start(&self) -> BoxedStrategy<String> {
        let edges =
            prop::sample::select(&[0u64, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX][..]);
        prop_oneof![
            2 => prop::sample::select(self.log_ids.clone()),
            2 => (any::<u64>(), any::<u64>()).prop_map(|(a, b)| format!("{a}-{b}")),
            2 => (1_777_110_999_990u64..1_777_111_000_012, 0u64..4).prop_map(|(a, b)| format!("{a}-{b}")),
            1 => any::<u64>().prop_map(|a| a.to_string()),
            1 => (edges.clone(), edges).prop_map(|(a, b)| format!("{a}-{b}")),
            2 => prop::sample::select(&[
                "0", "-", "+", "(1-0", "1-", "-1", "1--2", "1-2-3", "+5", "+5-1", "5-+1",
                "18446744073709551615-18446744073709551615", "18446744073709551616-0",
                "0-18446744073709551616", "9223372036854775807-9223372036854775808",
                "9223372036854775808-0", " 1-0 ", "\t0\n", "", "00", "-0", "0-0", "٣-٣",
                "１-１", "0x10", "1e3", "1.5", "*", "$", ">", "+inf", "1 - 2", "--", "+0",
            ][..]).prop_map(str::to_owned),
            2 => text(),
        ]
        .boxed()
    }

    /// Date bounds: structured dates right and wrong, the seeds' own times (to the
    /// microsecond and below), odd forms, garbage.
    pub(crate) fn date(&self) -> BoxedStrategy<String> {
        let offset = prop::sample::select(
            &[
                "Z", "z", "+00:00", "-00:00", "+14:00", "-12:00", "+2400", "+24:00", "-23:59",
                "+23:59", "+0530", "+05", "", " UTC", "+99:99",
            ][..],
        );
        let fraction = prop::sample::select(
            &[
                "",
                ".5",
                ".123456",
                ".1234565",
                ".999999999",
                ".0000000000000000000001",
                ".99999999999999999999999999999999999999",
            ][..],
        );
        let year = prop_oneof![
            4 => 1969i32..=2100,
            1 => prop::sample::select(&[0i32, 1, 9999, 10000, 99999, -1, 262_143, 262_144, -262_144][..]),
        ];
        let structured = (
            year,
            (0u32..=13, 0u32..=32),
            (0u32..=25, 0u32..=61, 0u32..=61),
            fraction,
            offset,
            0u8..5,
        )
            .prop_map(|(y, (mo, d), (h, mi, s), frac, off, shape)| {
                let date = format!("{y:04}-{mo:02}-{d:02}");
                match shape {
                    0 => date,
                    1 => format!("{date}T{h:02}:{mi:02}:{s:02}{frac}{off}"),
                    2 => format!("{date} {h:02}:{mi:02}:{s:02}{frac}{off}"),
                    3 => format!("{date}T{h:02}:{mi:02}{off}"),
                    _ => format!("{date}t{h}:{mi}:{s}{frac}{off}"),
                }
            });
        let near = (
            prop::sample::select(self.times.clone()),
            prop_oneof![Just(0i64), -3i64..=3, -100_000_000i64..100_000_000],
            0u8..4,
        )
            .prop_map(|(t, nanos, shape)| {
                let t = t + TimeDelta::nanoseconds(nanos);
                match shape {
                    0 => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    1 => t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                    2 => t
                        .with_timezone(&chrono::FixedOffset::east_opt(14 * 3600).expect("+14"))
                        .to_rfc3339(),
                    _ => t.format("%Y-%m-%d").to_string(),
                }
            });
        prop_oneof![
            3 => structured,
            3 => near,
            2 => prop::sample::select(&[
                "2026-04-25", "2026-02-30", "2026-02-29", "2024-02-29", "2026-04-25T23:59:60Z",
                "2026-04-25T23:59:60.999999999Z", "2026-04-25T10:00:00+14:00",
                "2026-04-25T10:00:00-12:00", "2026-04-25T10:00:00+2400",
                "2026-04-25T10:00:00+24:00", "99999-01-01", "+99999-01-01", "-0001-01-01",
                "+262143-12-31", "+262144-01-01", "-262144-01-01",
                "-262143-01-01T00:00:00+23:59", "+262143-12-31T23:59:59-23:59",
                "+262143-12-31T23:59:59.999999999Z", "0000-01-01", "9999-12-31T23:59:59.999999999Z",
                "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z",
                "2026-04-25T10:00:00.12345678901234567890123456789Z", "2026-W17-6", "2026-115",
                "20260425", "20260425T100000Z", "2026-04-25T10:00:00", "2026-04-25T10:00",
                "2026-04-25 10:00:00", "2026-04-25T10Z", " 2026-04-25 ", "yesterday", "now",
                "", " ", "NaN", "2026-4-5", "2026-04-25T10:00:00Z[Europe/Paris]",
                "2026-04-25T10:00:00+02:00:30", "１９７０-01-01", "2026-04-25\u{0}",
            ][..]).prop_map(str::to_owned),
            1 => prop::sample::select(SQL).prop_map(str::to_owned),
            1 => text(),
        ]
        .boxed()
    }

    pub(crate) fn filter(&self) -> BoxedStrategy<FilterIn> {
        let mut names = self.names.clone();
        names.extend(["ALPHA", "alpha ", "alph%", "_lpha", "alpha\0"].map(str::to_owned));
        let name = prop_oneof![3 => prop::sample::select(names), 1 => text()];
        (
            prop::option::of(name),
            prop::option::of(prop::sample::select(&ExecutionStatus::ALL[..])),
            prop::option::of(self.date()),
            prop::option::of(self.date()),
            prop::option::of(count()),
        )
            .prop_map(
                |(workflow_name, status, start_date, end_date, limit)| FilterIn {
                    workflow_name,
                    status,
                    start_date,
                    end_date,
                    limit,
                },
            )
            .boxed()
    }

    /// Cursors: real ones, forged ones in the right shape, mangled ones, garbage.
    pub(crate) fn cursor(&self) -> BoxedStrategy<String> {
        let real = prop::sample::select(self.cursors.clone());
        let micros = prop_oneof![
            any::<i64>(),
            prop::sample::select(&[0i64, 1, -1, i64::MAX, i64::MIN, 1_777_111_000_000_000][..]),
        ];
        prop_oneof![
            3 => real.clone(),
            2 => (micros, any::<u128>(), 0u8..5).prop_map(|(m, id, form)| {
                let id = Uuid::from_u128(id);
                match form {
                    0 => format!("v1.{m:x}.{}", id.simple()),
                    1 => format!("v1.{}{:x}.{}", if m < 0 { "-" } else { "+" }, m.unsigned_abs(), id.simple()),
                    2 => format!("v1.{m:X}.{}", id.simple().to_string().to_uppercase()),
                    3 => format!("v1.{m:x}.{id}"),
                    _ => format!("v1.{m}.{}", id.simple()),
                }
            }),
            2 => (real, any::<prop::sample::Index>(), prop::sample::select(&['.', 'g', '0', 'V', ' ', '😀'][..]))
                .prop_map(|(s, i, c)| {
                    let at = i.index(s.len());
                    let mut out: String = s.chars().take(at).collect();
                    out.push(c);
                    out.extend(s.chars().skip(at + 1));
                    out
                }),
            1 => prop::sample::select(&["", "v1.", "v1..", "v1.0.", "v2.0.00000000000000000000000000000000", "v1.0.0.0"][..])
                .prop_map(str::to_owned),
            2 => text(),
        ]
        .boxed()
    }

    pub(crate) fn logs_in(&self) -> BoxedStrategy<LogsIn> {
        (
            prop::option::weighted(0.7, self.id()),
            prop::option::of(self.start()),
            prop::option::of(count()),
        )
            .prop_map(|(id, start, count)| LogsIn { id, start, count })
            .boxed()
    }

    pub(crate) fn log_in(&self) -> BoxedStrategy<LogIn> {
        let read_back = prop::sample::select(
            &[
                Spelling::Current,
                Spelling::Canonical,
                Spelling::Upper,
                Spelling::Padded,
                Spelling::Braced,
                Spelling::Simple,
                Spelling::Urn,
            ][..],
        );
        let metadata = prop_oneof![
            3 => json_object().prop_map(|v| v.to_string()),
            3 => json_text(),
        ];
        // Long messages rarer than in `text`, so that a long run stays within the
        // execution's 64 MiB log cap for longer.
        let message = prop_oneof![4 => text_with(0), 1 => text()];
        (level(), message, prop::option::of(metadata), read_back)
            .prop_map(|(level, message, metadata, read_back)| LogIn {
                level,
                message,
                metadata,
                read_back,
            })
            .boxed()
    }

    pub(crate) fn set_in(&self) -> BoxedStrategy<SetIn> {
        let name = prop_oneof![
            4 => prop::sample::select(&["x", "count", "nested", "a.b", "$", "0", " ", "", "__proto__", "variables"][..])
                .prop_map(str::to_owned),
            2 => text(),
            1 => prop::sample::select(&[255usize, 256, 257, 1000][..]).prop_map(|n| "n".repeat(n)),
        ];
        (name, json_text())
            .prop_map(|(name, value)| SetIn { name, value })
            .boxed()
    }

    pub(crate) fn op(&self) -> BoxedStrategy<Op> {
        prop_oneof![
            self.filter().prop_map(Op::List),
            (self.filter(), prop::option::of(self.cursor())).prop_map(|(f, c)| Op::Page(f, c)),
            self.id().prop_map(Op::Get),
            self.logs_in().prop_map(Op::Logs),
            self.log_in().prop_map(Op::Log),
            self.set_in().prop_map(Op::Set),
            Just(Op::Context),
        ]
        .boxed()
    }
}
