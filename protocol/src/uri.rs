//! Payment-request URIs (ZIP-321-style, strict) and invoice tags.
//!
//! ```text
//! zkpay-uri = "zkpay:" address [ "?" param *( "&" param ) ]
//! param     = key "=" value
//! amount    = ( "0" / nonzero-digit *digit ) [ "." 1*digit ]   at most the asset's decimals
//! asset     = SYMBOL / SYMBOL "." decimals                    (built-ins are written bare)
//! invoice   = base64url without padding, 1..=31 bytes            needs salt and amount
//! salt      = base64url without padding, 16..=31 random bytes  needs invoice
//! expires   = unix seconds, decimal, no leading zeros
//! label, message = percent-encoded UTF-8 (unreserved characters and %XX only), <= 512 bytes,
//!             no control or bidirectional-formatting characters
//! memo      = base64url without padding, <= 512 bytes
//! req-network = "main" / "test" / "dev"                       must match the address
//! ```
//!
//! Rules: the scheme is exactly `zkpay:` (no `//`); every key appears at most once; a key
//! starting with `req-` that is not understood invalidates the URI; any other unknown key is
//! ignored; amounts are decimal strings, never floats, and must be positive; the whole URI is at
//! most 2048 bytes.

use crate::address::{Address, Network};
use crate::field::F;
use crate::invoice::{invoice_key, invoice_tag, MAX_SALT, MIN_SALT};
use crate::note::Asset;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use thiserror::Error;

/// Largest URI accepted.
pub const MAX_URI_LEN: usize = 2048;
/// Largest label or message in bytes.
pub const MAX_TEXT: usize = 512;
pub use crate::invoice::MAX_INVOICE_ID;

/// Why a payment request was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UriError {
    /// Not a `zkpay:` URI.
    #[error("scheme must be exactly \"zkpay:\" (got {0:?})")]
    Scheme(String),
    /// Over the size limit.
    #[error("URI longer than {MAX_URI_LEN} bytes")]
    TooLong,
    /// The address part is invalid.
    #[error("bad address: {0}")]
    Address(String),
    /// The address belongs to another network than the wallet's or than `req-network`.
    #[error("network mismatch: {0}")]
    Network(String),
    /// A parameter is not `key=value`.
    #[error("malformed parameter {0:?}")]
    MalformedParam(String),
    /// A key appears twice.
    #[error("duplicate parameter {0:?}")]
    Duplicate(String),
    /// A required (`req-`) parameter is not understood.
    #[error("unknown required parameter {0:?}")]
    UnknownRequired(String),
    /// Bad amount.
    #[error("bad amount {0:?}: {1}")]
    Amount(String, &'static str),
    /// Bad asset.
    #[error("bad asset: {0}")]
    Asset(String),
    /// Bad invoice id or salt, or an invoice without its salt or amount.
    #[error("bad invoice: {0}")]
    Invoice(&'static str),
    /// Bad expiry.
    #[error("bad expiry {0:?}")]
    Expires(String),
    /// The request has expired.
    #[error("payment request expired at {expires} (now {now})")]
    Expired {
        /// Expiry, unix seconds.
        expires: u64,
        /// Current time, unix seconds.
        now: u64,
    },
    /// Bad label or message encoding or length.
    #[error("bad {0}: {1}")]
    Text(&'static str, &'static str),
    /// Bad memo encoding or length.
    #[error("bad memo: {0}")]
    Memo(&'static str),
}

/// A parsed payment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Recipient.
    pub address: Address,
    /// Amount in the asset's smallest unit (positive), if requested.
    pub amount: Option<u64>,
    /// Asset (default: the native asset ZKP).
    pub asset: Asset,
    /// Invoice id (order number), 1..=31 bytes.
    pub invoice: Option<Vec<u8>>,
    /// Random salt of the invoice (16..=31 bytes): present exactly when `invoice` is.
    pub salt: Option<Vec<u8>>,
    /// Expiry, unix seconds.
    pub expires: Option<u64>,
    /// Recipient's name, for display.
    pub label: Option<String>,
    /// Message for display.
    pub message: Option<String>,
    /// Memo delivered inside the encrypted note (at most 512 bytes).
    pub memo: Option<Vec<u8>>,
}

/// Parses a decimal amount with at most `decimals` fractional digits into smallest units.
pub fn parse_amount(s: &str, decimals: u8) -> Result<u64, UriError> {
    let err = |why| UriError::Amount(s.to_string(), why);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("integer part must be decimal digits"));
    }
    if int.len() > 1 && int.starts_with('0') {
        return Err(err("leading zeros"));
    }
    let frac = frac.unwrap_or("");
    if s.contains('.') && frac.is_empty() {
        return Err(err("no digits after the decimal point"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("fraction must be decimal digits"));
    }
    if frac.len() > decimals as usize {
        return Err(err("more decimals than the asset allows"));
    }
    let scale = 10u128.pow(decimals as u32);
    let int_v: u128 = int.parse().map_err(|_| err("amount too large"))?;
    let mut frac_v: u128 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_v += u128::from(b - b'0') * 10u128.pow(u32::from(decimals) - 1 - i as u32);
    }
    let total = int_v
        .checked_mul(scale)
        .and_then(|x| x.checked_add(frac_v))
        .ok_or_else(|| err("amount too large"))?;
    u64::try_from(total).map_err(|_| err("amount too large"))
}

/// Formats smallest units as a decimal with exactly `decimals` fractional digits.
pub fn format_amount(v: u64, decimals: u8) -> String {
    if decimals == 0 {
        return v.to_string();
    }
    let scale = 10u128.pow(decimals as u32);
    let v = v as u128;
    format!(
        "{}.{:0width$}",
        v / scale,
        v % scale,
        width = decimals as usize
    )
}

/// Characters left as they are in label and message: RFC 3986 unreserved.
const TEXT_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let v = URL_SAFE_NO_PAD.decode(s).ok()?;
    // canonical: re-encoding gives the same text (no stray trailing bits)
    (URL_SAFE_NO_PAD.encode(&v) == s).then_some(v)
}

fn decode_text(what: &'static str, s: &str) -> Result<String, UriError> {
    // only unreserved characters and well-formed %XX escapes
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len() {
                    return Err(UriError::Text(what, "truncated %-escape"));
                }
                if !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                    return Err(UriError::Text(what, "bad %-escape"));
                }
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || b"-._~".contains(&c) => i += 1,
            _ => return Err(UriError::Text(what, "character must be percent-encoded")),
        }
    }
    let text = percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| UriError::Text(what, "not UTF-8"))?
        .into_owned();
    if text.len() > MAX_TEXT {
        return Err(UriError::Text(what, "longer than 512 bytes"));
    }
    check_display_text(&text).map_err(|why| UriError::Text(what, why))?;
    Ok(text)
}

/// Whether `c` is an invisible formatting character (Unicode general category Cf: bidirectional
/// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, directional marks,
/// zero-width characters, soft hyphen, tag characters, ...) or a line or paragraph separator
/// (U+2028, U+2029). Such characters can reorder or hide what a confirmation prompt shows.
pub fn is_bidi_or_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0600}'..='\u{0605}'
        | '\u{061C}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{0890}'..='\u{0891}'
        | '\u{08E2}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}'
        | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
}

/// Refuses text that could make a confirmation prompt lie: control characters (C0, DEL, C1) and
/// bidirectional or invisible formatting characters.
pub fn check_display_text(text: &str) -> Result<(), &'static str> {
    if text.chars().any(char::is_control) {
        return Err("control characters");
    }
    if text.chars().any(is_bidi_or_invisible) {
        return Err("bidirectional or invisible formatting characters");
    }
    Ok(())
}

fn parse_u64_strict(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl PaymentRequest {
    /// A request for `amount` of `asset` to `address`.
    pub fn new(address: Address, asset: Asset, amount: Option<u64>) -> Self {
        Self {
            address,
            amount,
            asset,
            invoice: None,
            salt: None,
            expires: None,
            label: None,
            message: None,
            memo: None,
        }
    }

    /// The network of the request (its address's).
    pub fn network(&self) -> Network {
        self.address.network
    }

    /// The invoice key (`H_InvoiceKey(pack(invoice), pack(salt))`), if the request carries an
    /// invoice.
    pub fn invoice_key(&self) -> Option<F> {
        match (&self.invoice, &self.salt) {
            (Some(id), Some(salt)) => invoice_key(id, salt).ok(),
            _ => None,
        }
    }

    /// The invoice tag a payment of exactly this request carries: output 0 pays `amount` of
    /// `asset` to the request's address.
    pub fn invoice_tag(&self) -> Option<F> {
        Some(invoice_tag(
            &self.invoice_key()?,
            &self.address.pk,
            self.amount?,
            &self.asset.id(),
        ))
    }

    /// Refuses an expired request.
    pub fn check_not_expired(&self, now: u64) -> Result<(), UriError> {
        match self.expires {
            Some(expires) if now >= expires => Err(UriError::Expired { expires, now }),
            _ => Ok(()),
        }
    }

    /// Renders the canonical URI.
    pub fn to_uri(&self) -> String {
        let mut params: Vec<String> = Vec::new();
        if let Some(a) = self.amount {
            params.push(format!("amount={}", format_amount(a, self.asset.decimals)));
        }
        params.push(format!("asset={}", self.asset.to_text()));
        if let Some(i) = &self.invoice {
            params.push(format!("invoice={}", URL_SAFE_NO_PAD.encode(i)));
        }
        if let Some(s) = &self.salt {
            params.push(format!("salt={}", URL_SAFE_NO_PAD.encode(s)));
        }
        if let Some(e) = self.expires {
            params.push(format!("expires={e}"));
        }
        if let Some(l) = &self.label {
            params.push(format!("label={}", utf8_percent_encode(l, TEXT_SET)));
        }
        if let Some(m) = &self.message {
            params.push(format!("message={}", utf8_percent_encode(m, TEXT_SET)));
        }
        if let Some(m) = &self.memo {
            params.push(format!("memo={}", URL_SAFE_NO_PAD.encode(m)));
        }
        params.push(format!("req-network={}", self.network().name()));
        format!("zkpay:{}?{}", self.address.encode(), params.join("&"))
    }

    /// Parses a URI and requires its network to be `network`.
    pub fn parse_for(uri: &str, network: Network) -> Result<Self, UriError> {
        let r = Self::parse(uri)?;
        if r.network() != network {
            return Err(UriError::Network(format!(
                "request is for {}, this wallet is on {}",
                r.network(),
                network
            )));
        }
        Ok(r)
    }

    /// Strict parsing.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        let rest = uri.strip_prefix("zkpay:").ok_or_else(|| {
            UriError::Scheme(
                uri.split(':')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(16)
                    .collect(),
            )
        })?;
        if rest.starts_with("//") {
            return Err(UriError::Scheme("zkpay://".into()));
        }
        let (addr, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let address = Address::decode_any(addr).map_err(|e| UriError::Address(e.to_string()))?;

        let mut seen: Vec<&str> = Vec::new();
        let mut amount_s = None;
        let mut asset_s = None;
        let mut req = Self::new(
            address,
            Asset::new("ZKP", 8).map_err(|e| UriError::Asset(e.to_string()))?,
            None,
        );
        if let Some(q) = query {
            for param in q.split('&') {
                let (k, v) = param
                    .split_once('=')
                    .ok_or_else(|| UriError::MalformedParam(param.chars().take(32).collect()))?;
                if k.is_empty() {
                    return Err(UriError::MalformedParam(param.chars().take(32).collect()));
                }
                if seen.contains(&k) {
                    return Err(UriError::Duplicate(k.to_string()));
                }
                seen.push(k);
                match k {
                    "amount" => amount_s = Some(v),
                    "asset" => asset_s = Some(v),
                    "invoice" => {
                        let id =
                            decode_b64(v).ok_or(UriError::Invoice("not canonical base64url"))?;
                        if id.is_empty() {
                            return Err(UriError::Invoice("empty"));
                        }
                        if id.len() > MAX_INVOICE_ID {
                            return Err(UriError::Invoice("longer than 31 bytes"));
                        }
                        req.invoice = Some(id);
                    }
                    "salt" => {
                        let salt = decode_b64(v)
                            .ok_or(UriError::Invoice("salt not canonical base64url"))?;
                        if !(MIN_SALT..=MAX_SALT).contains(&salt.len()) {
                            return Err(UriError::Invoice("salt must be 16 to 31 bytes"));
                        }
                        req.salt = Some(salt);
                    }
                    "expires" => {
                        req.expires = Some(
                            parse_u64_strict(v).ok_or_else(|| UriError::Expires(v.to_string()))?,
                        )
                    }
                    "label" => req.label = Some(decode_text("label", v)?),
                    "message" => req.message = Some(decode_text("message", v)?),
                    "memo" => {
                        let m = decode_b64(v).ok_or(UriError::Memo("not canonical base64url"))?;
                        if m.len() > crate::encryption::MAX_MEMO {
                            return Err(UriError::Memo("longer than 512 bytes"));
                        }
                        req.memo = Some(m);
                    }
                    "req-network" => {
                        let n = Network::from_name(v)
                            .map_err(|_| UriError::Network(format!("unknown network {v:?}")))?;
                        if n != address.network {
                            return Err(UriError::Network(format!(
                                "req-network={} but the address is for {}",
                                n, address.network
                            )));
                        }
                    }
                    other if other.starts_with("req-") => {
                        return Err(UriError::UnknownRequired(other.to_string()))
                    }
                    _ => {} // unknown optional parameters are ignored
                }
            }
        }
        if let Some(a) = asset_s {
            req.asset = Asset::from_text(a).map_err(|e| UriError::Asset(e.to_string()))?;
        }
        if let Some(a) = amount_s {
            let v = parse_amount(a, req.asset.decimals)?;
            if v == 0 {
                return Err(UriError::Amount(a.to_string(), "must be positive"));
            }
            req.amount = Some(v);
        }
        match (&req.invoice, &req.salt, req.amount) {
            (Some(_), None, _) => return Err(UriError::Invoice("invoice without its salt")),
            (None, Some(_), _) => return Err(UriError::Invoice("salt without an invoice")),
            (Some(_), Some(_), None) => return Err(UriError::Invoice("invoice without an amount")),
            _ => {}
        }
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;
    use proptest::prelude::*;

    fn addr(n: Network) -> Address {
        SpendingKey::from_bytes([4; 32]).address(n)
    }

    fn base() -> String {
        format!("zkpay:{}", addr(Network::Dev).encode())
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("12.50", 2).unwrap(), 1250);
        assert_eq!(parse_amount("12.5", 2).unwrap(), 1250);
        assert_eq!(parse_amount("0.01", 2).unwrap(), 1);
        assert_eq!(parse_amount("7", 0).unwrap(), 7);
        assert_eq!(parse_amount("184467440737095516.15", 2).unwrap(), u64::MAX);
        for bad in [
            "",
            "1e3",
            "50,000",
            ".5",
            "50.",
            "-1",
            "+1",
            "1.234",
            "01",
            "00.5",
            " 1",
            "1 ",
            "0x10",
            "1..2",
            "184467440737095516.16",
            "99999999999999999999999",
        ] {
            assert!(parse_amount(bad, 2).is_err(), "accepted {bad:?}");
        }
        assert!(parse_amount("1.5", 0).is_err());
        assert_eq!(format_amount(1250, 2), "12.50");
        assert_eq!(format_amount(5, 0), "5");
        assert_eq!(format_amount(u64::MAX, 8), "184467440737.09551615");
    }

    #[test]
    fn full_request_roundtrip() {
        let mut r = PaymentRequest::new(
            addr(Network::Dev),
            Asset::from_text("USD").unwrap(),
            Some(1250),
        );
        r.invoice = Some(b"order-17".to_vec());
        r.salt = Some(vec![9; 16]);
        r.expires = Some(1_900_000_000);
        r.label = Some("Café Zürich & Co".into());
        r.message = Some("2 espressi, 1 cornetto".into());
        r.memo = Some(vec![0, 1, 2, 255]);
        let uri = r.to_uri();
        assert!(uri.starts_with("zkpay:zkpd1"));
        assert!(uri.contains("amount=12.50&asset=USD"));
        let back = PaymentRequest::parse(&uri).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.to_uri(), uri);
        assert!(back.invoice_tag().is_some());
        assert!(back.check_not_expired(1_899_999_999).is_ok());
        assert!(matches!(
            back.check_not_expired(1_900_000_000),
            Err(UriError::Expired { .. })
        ));
        assert!(PaymentRequest::parse_for(&uri, Network::Dev).is_ok());
        assert!(matches!(
            PaymentRequest::parse_for(&uri, Network::Main),
            Err(UriError::Network(_))
        ));
    }

    #[test]
    fn bad_uris() {
        let b = base();
        let salt = URL_SAFE_NO_PAD.encode([7u8; 16]);
        let cases: Vec<(String, &str)> = vec![
            (format!("{b}?amount=1&amount=2"), "duplicate"),
            (format!("{b}?amount=1.234&asset=USD"), "decimals"),
            (format!("{b}?amount=1e3"), "exponent"),
            (format!("{b}?amount=50,000"), "comma"),
            (format!("{b}?amount=.5"), "leading dot"),
            (format!("{b}?amount=50."), "trailing dot"),
            (format!("{b}?amount=-5"), "negative"),
            (format!("{b}?amount=0"), "zero"),
            (b.replace("zkpay:", "zkpay://"), "slashes"),
            (b.replace("zkpay:", "bitcoin:"), "scheme"),
            (b.replace("zkpay:", "ZKPAY:"), "scheme case"),
            (format!("{b}?req-x=1"), "unknown req"),
            (format!("{b}?memo=%%%"), "memo encoding"),
            (format!("{b}?memo=AAA="), "memo padding"),
            (
                format!("{b}?memo={}", URL_SAFE_NO_PAD.encode([0u8; 513])),
                "memo length",
            ),
            (
                format!("zkpay:{}?req-network=dev", addr(Network::Main).encode()),
                "network",
            ),
            (format!("{b}?req-network=moon"), "unknown network"),
            (format!("{b}x"), "checksum"),
            (
                format!("{b}?amount=1&invoice=&salt={salt}"),
                "empty invoice",
            ),
            (
                format!(
                    "{b}?amount=1&invoice={}&salt={salt}",
                    URL_SAFE_NO_PAD.encode([1u8; 32])
                ),
                "invoice length",
            ),
            (format!("{b}?amount=1&invoice=QQ"), "invoice without salt"),
            (format!("{b}?amount=1&salt={salt}"), "salt without invoice"),
            (
                format!("{b}?invoice=QQ&salt={salt}"),
                "invoice without amount",
            ),
            (
                format!(
                    "{b}?amount=1&invoice=QQ&salt={}",
                    URL_SAFE_NO_PAD.encode([1u8; 15])
                ),
                "salt of 120 bits",
            ),
            (
                format!(
                    "{b}?amount=1&invoice=QQ&salt={}",
                    URL_SAFE_NO_PAD.encode([1u8; 32])
                ),
                "salt too long",
            ),
            (format!("{b}?label=Shop%E2%80%AEevil"), "U+202E in label"),
            (format!("{b}?message=a%E2%81%A6b"), "U+2066 in message"),
            (format!("{b}?message=a%E2%80%8Bb"), "zero-width space"),
            (format!("{b}?label=a%C2%85b"), "C1 control"),
            (format!("{b}?label=a%7Fb"), "DEL"),
            (format!("{b}?label=a%C2%ADb"), "soft hyphen"),
            (format!("{b}?label=a%E2%80%A8b"), "line separator"),
            (format!("{b}?message=a%F3%A0%80%81b"), "tag character"),
            (format!("{b}?message=a%E2%81%A2b"), "invisible times"),
            (format!("{b}?expires=01"), "expiry zeros"),
            (format!("{b}?expires=-1"), "expiry negative"),
            (format!("{b}?label=a b"), "raw space"),
            (format!("{b}?label=%ff"), "not utf8"),
            (format!("{b}?label=%4"), "truncated escape"),
            (format!("{b}?message=%00"), "control"),
            (format!("{b}?&amount=1"), "empty param"),
            (format!("{b}?amount"), "no value"),
            (format!("{b}?asset=usd"), "asset case"),
            (format!("{b}?{}", "x=1&".repeat(600)), "too long"),
        ];
        for (uri, why) in cases {
            assert!(
                PaymentRequest::parse(&uri).is_err(),
                "accepted ({why}): {uri}"
            );
        }
        // unknown optional parameters are ignored
        assert!(PaymentRequest::parse(&format!("{b}?foo=bar&amount=1")).is_ok());
        // wrong-network address for the wallet
        let main = format!("zkpay:{}", addr(Network::Main).encode());
        assert!(PaymentRequest::parse_for(&main, Network::Dev).is_err());
    }

    #[test]
    fn invoice_tags_bind_amount_asset_and_merchant() {
        let mut r = PaymentRequest::new(
            addr(Network::Dev),
            Asset::from_text("USD").unwrap(),
            Some(1250),
        );
        assert_eq!(r.invoice_tag(), None);
        r.invoice = Some(b"order-1001".to_vec());
        r.salt = Some(vec![3; 16]);
        let t = r.invoice_tag().unwrap();
        // an edited amount or asset gives another tag: the real invoice stays unpaid
        let mut cheaper = r.clone();
        cheaper.amount = Some(1);
        assert_ne!(cheaper.invoice_tag().unwrap(), t);
        let mut other_asset = r.clone();
        other_asset.asset = Asset::from_text("EUR").unwrap();
        assert_ne!(other_asset.invoice_tag().unwrap(), t);
        let mut other_salt = r.clone();
        other_salt.salt = Some(vec![4; 16]);
        assert_ne!(other_salt.invoice_tag().unwrap(), t);
        assert_eq!(
            t,
            invoice_tag(
                &r.invoice_key().unwrap(),
                &r.address.pk,
                1250,
                &r.asset.id()
            )
        );
    }

    proptest! {
        #[test]
        fn render_parse_roundtrip(
            amount in 1u64..,
            invoice in proptest::collection::vec(any::<u8>(), 1..=31),
            expires in proptest::option::of(any::<u64>()),
            label in proptest::option::of("[ -~À-ÿ]{0,40}"),
            memo in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=512)),
            dec in 0u8..=18,
        ) {
            let asset = Asset::new("PTS", dec).unwrap();
            let mut r = PaymentRequest::new(addr(Network::Test), asset, Some(amount));
            r.invoice = Some(invoice);
            r.salt = Some(vec![0xa5; 16]);
            r.expires = expires;
            r.label = label;
            r.memo = memo;
            let uri = r.to_uri();
            let back = PaymentRequest::parse(&uri).unwrap();
            prop_assert_eq!(&back, &r);
            prop_assert_eq!(back.to_uri(), uri);
        }

        #[test]
        fn amount_roundtrip(v in any::<u64>(), dec in 0u8..=18) {
            prop_assert_eq!(parse_amount(&format_amount(v, dec), dec).unwrap(), v);
        }

        #[test]
        fn parse_never_panics(s in "zkpay:[ -~]{0,200}") {
            let _ = PaymentRequest::parse(&s);
        }
    }
}
