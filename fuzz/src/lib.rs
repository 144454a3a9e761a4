//! Helpers the fuzz targets share.

/// The payload of a QR round trip for this fuzz input, or `None` for most inputs.
///
/// Rendering a code and decoding it back is slow (a rendered code is a few hundred pixels a
/// side), so a target runs it on one input in 64, chosen by a hash of the whole input (which
/// every mutation changes), and only for payloads up to 512 bytes: the wallet's requests are
/// shorter, and a code for a kilobyte takes most of a second to render and decode, which a
/// loaded machine turns into a false timeout. The payload is the input after its first byte.
pub fn qr_round_trip_payload(data: &[u8]) -> Option<String> {
    let h = data
        .iter()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)));
    if h % 64 == 0 && (2..=513).contains(&data.len()) {
        Some(String::from_utf8_lossy(&data[1..]).into_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::qr_round_trip_payload;

    #[test]
    fn one_input_in_64_up_to_512_bytes() {
        // inputs whose hash is 0 mod 64: all zero bytes
        assert_eq!(qr_round_trip_payload(&[0, 0]).as_deref(), Some("\0"));
        assert_eq!(qr_round_trip_payload(&[0; 513]).map(|p| p.len()), Some(512));
        assert_eq!(
            qr_round_trip_payload(&[0; 514]),
            None,
            "payload over 512 bytes"
        );
        assert_eq!(qr_round_trip_payload(&[0]), None, "no payload");
        assert_eq!(qr_round_trip_payload(&[]), None);
        // about one input in 64 over many two-byte inputs
        let picked = (0..=u16::MAX)
            .filter(|v| qr_round_trip_payload(&v.to_be_bytes()).is_some())
            .count();
        assert_eq!(picked, 65_536 / 64);
    }
}
