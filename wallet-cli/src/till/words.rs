//! Amounts in words, as a till shows them beside the digits ("twelve US dollars and fifty
//! cents"), and UTC timestamps for the day's history.

use zkpay_protocol::note::Asset;

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [&str; 7] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
];

/// 1..=999 in words.
fn hundreds(n: u64, out: &mut Vec<String>) {
    let (h, rest) = (n / 100, n % 100);
    if h > 0 {
        out.push(format!("{} hundred", ONES[h as usize]));
    }
    if rest >= 20 {
        let (t, o) = (rest / 10, rest % 10);
        out.push(if o == 0 {
            TENS[t as usize].to_string()
        } else {
            format!("{}-{}", TENS[t as usize], ONES[o as usize])
        });
    } else if rest > 0 {
        out.push(ONES[rest as usize].to_string());
    }
}

/// A whole number in English words ("one thousand two hundred thirty-four"); every `u64`.
pub fn number(n: u64) -> String {
    if n == 0 {
        return ONES[0].to_string();
    }
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push(m % 1000);
        m /= 1000;
    }
    let mut out = Vec::new();
    for (i, g) in groups.iter().enumerate().rev() {
        if *g == 0 {
            continue;
        }
        hundreds(*g, &mut out);
        if !SCALES[i].is_empty() {
            out.push(SCALES[i].to_string());
        }
    }
    out.join(" ")
}

/// A unit's name, singular and plural.
type Name = (&'static str, &'static str);

/// Names of a currency's unit and subunit.
fn units(symbol: &str) -> Option<(Name, Name)> {
    Some(match symbol {
        "USD" => (("US dollar", "US dollars"), ("cent", "cents")),
        "EUR" => (("euro", "euros"), ("cent", "cents")),
        "GBP" => (("pound sterling", "pounds sterling"), ("penny", "pence")),
        "JPY" => (("yen", "yen"), ("", "")),
        _ => return None,
    })
}

fn plural(n: u64, (one, many): (&str, &str)) -> String {
    format!("{} {}", number(n), if n == 1 { one } else { many })
}

/// `value` base units of `asset` in words: "twelve US dollars and fifty cents", "five hundred
/// PTS", "one point zero five ZKP".
pub fn amount(asset: &Asset, value: u64) -> String {
    let d = u32::from(asset.decimals);
    let scale = 10u64.checked_pow(d);
    let (whole, frac) = match scale {
        Some(s) => (value / s, value % s),
        // 10^19 and above do not fit: every u64 value is below one whole unit
        None => (0, value),
    };
    match units(&asset.symbol) {
        Some((unit, sub)) if d <= 2 => {
            if frac == 0 {
                plural(whole, unit)
            } else if whole == 0 {
                plural(frac, sub)
            } else {
                format!("{} and {}", plural(whole, unit), plural(frac, sub))
            }
        }
        _ => {
            let mut s = number(whole);
            if frac > 0 {
                let digits = format!("{frac:0width$}", width = d as usize);
                let digits = digits.trim_end_matches('0');
                s.push_str(" point");
                for c in digits.chars() {
                    let i = c.to_digit(10).unwrap_or(0) as usize;
                    s.push(' ');
                    s.push_str(ONES[i]);
                }
            }
            format!("{s} {}", asset.symbol)
        }
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), for the history export.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Asset {
        Asset::from_text(s).unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(number(0), "zero");
        assert_eq!(number(7), "seven");
        assert_eq!(number(19), "nineteen");
        assert_eq!(number(20), "twenty");
        assert_eq!(number(42), "forty-two");
        assert_eq!(number(100), "one hundred");
        assert_eq!(number(1_234), "one thousand two hundred thirty-four");
        assert_eq!(number(1_000_001), "one million one");
        assert_eq!(
            number(u64::MAX),
            "eighteen quintillion four hundred forty-six quadrillion seven hundred forty-four \
             trillion seventy-three billion seven hundred nine million five hundred fifty-one \
             thousand six hundred fifteen"
        );
    }

    #[test]
    fn amounts() {
        assert_eq!(
            amount(&a("USD"), 1_250),
            "twelve US dollars and fifty cents"
        );
        assert_eq!(amount(&a("USD"), 100), "one US dollar");
        assert_eq!(amount(&a("USD"), 1), "one cent");
        assert_eq!(amount(&a("EUR"), 201), "two euros and one cent");
        assert_eq!(amount(&a("GBP"), 101), "one pound sterling and one penny");
        assert_eq!(amount(&a("JPY"), 1_500), "one thousand five hundred yen");
        assert_eq!(amount(&a("PTS.0"), 500), "five hundred PTS");
        assert_eq!(amount(&a("ZKP"), 105_000_000), "one point zero five ZKP");
        assert_eq!(amount(&a("ZKP"), 0), "zero ZKP");
        assert_eq!(amount(&a("BIG.18"), u64::MAX), {
            // 18.446744073709551615 units
            let mut s = "eighteen point".to_string();
            for d in "446744073709551615".chars() {
                s.push(' ');
                s.push_str(ONES[d.to_digit(10).unwrap() as usize]);
            }
            s + " BIG"
        });
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(utc(1_795_971_600), "2026-11-29T17:00:00Z");
    }
}
