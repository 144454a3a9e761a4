//! QR codes of payment requests: terminal, SVG and PNG rendering, and decoding of images with
//! bounded memory.

use crate::WalletError;
use qrcode::render::{svg, unicode};
use qrcode::{Color, EcLevel, QrCode};
use std::io::Cursor;
use std::path::Path;

/// Largest image side decoded (pixels); larger images are refused before decoding.
pub const MAX_IMAGE_SIDE: u32 = 4096;
/// Largest image file read (bytes).
pub const MAX_IMAGE_FILE: u64 = 16 * 1024 * 1024;
/// Pixels per module in PNG output.
const PNG_SCALE: u32 = 8;
/// Quiet zone, in modules.
const QUIET: u32 = 4;

fn code(payload: &str) -> Result<QrCode, WalletError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|_| WalletError::QrCapacity(payload.len()))
}

/// Renders `payload` as a QR code for a terminal (Unicode half blocks, with a quiet zone).
pub fn render_terminal(payload: &str) -> Result<String, WalletError> {
    Ok(code(payload)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// Renders `payload` as an SVG document.
pub fn render_svg(payload: &str) -> Result<String, WalletError> {
    Ok(code(payload)?
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// Renders `payload` as a PNG (8 pixels per module, 4-module quiet zone).
pub fn render_png(payload: &str) -> Result<Vec<u8>, WalletError> {
    let c = code(payload)?;
    let w = c.width() as u32;
    let colors = c.to_colors();
    let side = (w + 2 * QUIET) * PNG_SCALE;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / PNG_SCALE, y / PNG_SCALE);
        let dark = mx >= QUIET
            && my >= QUIET
            && mx < QUIET + w
            && my < QUIET + w
            && colors[((my - QUIET) * w + (mx - QUIET)) as usize] == Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| WalletError::Qr(format!("PNG encoding: {e}")))?;
    Ok(out)
}

/// Decodes the one QR code in a PNG image file.
pub fn decode_file(path: &Path) -> Result<String, WalletError> {
    let meta =
        std::fs::metadata(path).map_err(|e| WalletError::Qr(format!("{}: {e}", path.display())))?;
    if meta.len() > MAX_IMAGE_FILE {
        return Err(WalletError::Qr(format!(
            "{}: file over {} MiB",
            path.display(),
            MAX_IMAGE_FILE >> 20
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| WalletError::Qr(format!("{}: {e}", path.display())))?;
    decode_image(&bytes)
}

/// Decodes the one QR code in an image (PNG). Refuses images over [`MAX_IMAGE_SIDE`] from
/// their header, before allocating pixels; contrast is stretched first, so faint codes read.
pub fn decode_image(bytes: &[u8]) -> Result<String, WalletError> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| WalletError::Qr(format!("unreadable image: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => WalletError::Qr(format!(
            "image larger than {MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} pixels"
        )),
        e => WalletError::Qr(format!("unreadable image: {e}")),
    })?;
    let gray = img.to_luma8();
    decode_gray(&gray)
}

fn decode_gray(gray: &image::GrayImage) -> Result<String, WalletError> {
    let (lo, hi) = gray
        .pixels()
        .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
    if hi.saturating_sub(lo) < 8 {
        return Err(WalletError::Qr("no QR code found (blank image)".into()));
    }
    let span = u32::from(hi - lo);
    let (w, h) = gray.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            let v = u32::from(gray.get_pixel(x as u32, y as u32).0[0] - lo);
            (v * 255 / span) as u8
        });
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(WalletError::Qr("no QR code found".into()));
    }
    if grids.len() > MAX_GRIDS {
        return Err(WalletError::Qr(format!(
            "{} QR-like patterns in the image; show exactly one code",
            grids.len()
        )));
    }
    // The detector can also find a grid that is not a code: three finder-like patterns among a
    // large code's data modules (found by fuzzing: a 385-byte request rendered by
    // `render_png` read as "2 QR codes"). Such a grid does not decode (its error correction
    // fails), so what counts is the codes that decode: exactly one text, however many times
    // it was found.
    let mut texts: Vec<String> = Vec::new();
    let mut unreadable = None;
    for grid in &grids {
        match grid.decode() {
            Ok((_, text)) if !texts.contains(&text) => texts.push(text),
            Ok(_) => {}
            Err(e) => unreadable = Some(e),
        }
    }
    match (texts.pop(), texts.len()) {
        (Some(text), 0) => Ok(text),
        (None, _) => Err(WalletError::Qr(format!(
            "QR code unreadable: {}",
            unreadable.map_or_else(|| "no data".to_string(), |e| e.to_string())
        ))),
        (Some(_), n) => Err(WalletError::Qr(format!(
            "{} QR codes in the image; show exactly one",
            n + 1
        ))),
    }
}

/// Most candidate grids [`decode_image`] tries to decode: a photograph of one code has one, a
/// code with finder-like data patterns two; an image with more is refused before decoding
/// any, which bounds the work an image can cause (16 codes tiled give 8 grids).
const MAX_GRIDS: usize = 4;

/// Most rectangles a QR code's SVG can hold: one per module of a version-40 code with its
/// quiet zone.
pub const MAX_SVG_RECTS: usize = 185 * 185;

/// Largest side of an SVG the decoder reads. [`render_svg`] draws at least 256 pixels a side
/// with the smallest whole number of pixels per module, so its side is under 256 + 185; twice
/// that leaves room for other scales while bounding the pixels painted and searched (a side of
/// [`MAX_IMAGE_SIDE`] would let a few kilobytes of SVG cost a 16-megapixel search).
pub const MAX_SVG_SIDE: u32 = 1024;

/// Decodes an SVG produced by [`render_svg`] (its `M x y h w v h H x V y` rectangles), so a
/// saved SVG request can be read back without a general SVG renderer. Refuses, before painting
/// anything, more rectangles than a QR code has, rectangles outside the image (overflow
/// included) and overlapping rectangles covering more than the image.
pub fn decode_svg(svg: &str) -> Result<String, WalletError> {
    let bad = || WalletError::Qr("not a zkpay QR SVG".into());
    let attr = |name: &str| -> Option<u32> {
        let i = svg.find(&format!(" {name}=\""))? + name.len() + 3;
        svg[i..].split('"').next()?.parse().ok()
    };
    let (w, h) = (
        attr("width").ok_or_else(bad)?,
        attr("height").ok_or_else(bad)?,
    );
    if w > MAX_SVG_SIDE || h > MAX_SVG_SIDE {
        return Err(WalletError::Qr(format!(
            "SVG larger than {MAX_SVG_SIDE}×{MAX_SVG_SIDE}: not a zkpay QR SVG"
        )));
    }
    let d_start = svg.find(" d=\"").ok_or_else(bad)? + 4;
    let d = svg[d_start..].split('"').next().ok_or_else(bad)?;
    // A QR code has at most 177 x 177 modules (version 40), 185 x 185 with the quiet zone, and
    // its dark modules never overlap: more rectangles, or more painted area than the image, is
    // not a QR code (and would cost unbounded time to paint).
    if d.bytes().filter(|&b| b == b'M').count() > MAX_SVG_RECTS {
        return Err(WalletError::Qr(format!(
            "SVG has more than {MAX_SVG_RECTS} rectangles: not a QR code"
        )));
    }
    let area = u64::from(w) * u64::from(h);
    let mut painted = 0u64;
    let mut img = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    for rect in d.split('M').filter(|s| !s.is_empty()) {
        // "{left} {top}h{width}v{height}H{left}V{top}"
        let mut nums = rect
            .split(|c: char| c == ' ' || c.is_ascii_alphabetic())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u32>().map_err(|_| bad()));
        let mut next = || nums.next().ok_or_else(bad).and_then(|r| r);
        let (x0, y0, rw, rh) = (next()?, next()?, next()?, next()?);
        let outside = || WalletError::Qr("SVG rectangle outside the image".into());
        let (x1, y1) = (
            x0.checked_add(rw).ok_or_else(outside)?,
            y0.checked_add(rh).ok_or_else(outside)?,
        );
        if x1 > w || y1 > h {
            return Err(outside());
        }
        painted += u64::from(rw) * u64::from(rh);
        if painted > area {
            return Err(WalletError::Qr(
                "SVG rectangles overlap: not a QR code".into(),
            ));
        }
        for y in y0..y1 {
            for x in x0..x1 {
                img.put_pixel(x, y, image::Luma([0]));
            }
        }
    }
    decode_gray(&img)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "zkpay:test?amount=1.00&asset=USD";

    #[test]
    fn renders_and_refuses_oversized() {
        let t = render_terminal("zkpay:test").unwrap();
        assert!(t.lines().count() > 10);
        assert!(render_svg("zkpay:test").unwrap().starts_with("<?xml"));
        assert!(matches!(
            render_terminal(&"x".repeat(5000)),
            Err(WalletError::QrCapacity(5000))
        ));
        assert!(matches!(
            render_png(&"x".repeat(5000)),
            Err(WalletError::QrCapacity(5000))
        ));
    }

    #[test]
    fn png_and_svg_round_trip() {
        assert_eq!(decode_image(&render_png(URI).unwrap()).unwrap(), URI);
        assert_eq!(decode_svg(&render_svg(URI).unwrap()).unwrap(), URI);
    }

    #[test]
    fn every_rendered_svg_fits_the_decoders_side_and_a_larger_one_is_refused() {
        // the smallest and the largest codes (version 1 and a payload near version 40's
        // capacity at level M)
        for payload in ["z".to_string(), "x".repeat(2300)] {
            let svg = render_svg(&payload).unwrap();
            let side: u32 = svg
                .split(" width=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(side <= MAX_SVG_SIDE, "{side}");
            assert_eq!(decode_svg(&svg).unwrap(), payload);
        }
        let big = r#"<svg width="1025" height="300"><path d="M0 0h1v1H0V0"/></svg>"#;
        assert!(decode_svg(big)
            .unwrap_err()
            .to_string()
            .contains("larger than"));
    }

    fn png(img: &image::GrayImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    fn gray(bytes: &[u8]) -> image::GrayImage {
        image::load_from_memory(bytes).unwrap().to_luma8()
    }

    #[test]
    fn rotated_and_low_contrast_codes_read() {
        let g = gray(&render_png(URI).unwrap());
        let rotated = image::imageops::rotate90(&g);
        assert_eq!(decode_image(&png(&rotated)).unwrap(), URI);
        let faint = image::GrayImage::from_fn(g.width(), g.height(), |x, y| {
            image::Luma([if g.get_pixel(x, y).0[0] < 128 {
                118
            } else {
                138
            }])
        });
        assert_eq!(decode_image(&png(&faint)).unwrap(), URI);
    }

    /// Found by fuzzing (`qr_png`, now a seed there): the code `render_png` draws for this
    /// 385-byte request holds finder-like patterns among its data modules, the detector finds
    /// a second grid, and the decoder used to answer "2 QR codes in the image".
    #[test]
    fn a_code_whose_data_looks_like_a_second_code_reads() {
        let input = include_bytes!("../../fuzz/seeds/qr_png/regression-two-grids-in-one-code");
        let payload = String::from_utf8_lossy(&input[1..]).into_owned();
        let png = render_png(&payload).unwrap();
        let g = gray(&png);
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            g.width() as usize,
            g.height() as usize,
            |x, y| g.get_pixel(x as u32, y as u32).0[0],
        );
        assert!(
            prepared.detect_grids().len() >= 2,
            "the detector finds a second grid"
        );
        assert_eq!(decode_image(&png).unwrap(), payload);
    }

    #[test]
    fn no_code_two_codes_truncated_and_huge_images_fail_cleanly() {
        let blank = image::GrayImage::from_pixel(300, 300, image::Luma([255]));
        assert!(decode_image(&png(&blank))
            .unwrap_err()
            .to_string()
            .contains("no QR code"));
        let noise = image::GrayImage::from_fn(300, 300, |x, y| {
            image::Luma([((x * 7919 + y * 104_729) % 251) as u8])
        });
        assert!(decode_image(&png(&noise)).is_err());
        // two codes side by side
        let a = gray(&render_png(URI).unwrap());
        let b = gray(&render_png("zkpay:other").unwrap());
        let mut two = image::GrayImage::from_pixel(
            a.width() + b.width(),
            a.height().max(b.height()),
            image::Luma([255]),
        );
        image::imageops::overlay(&mut two, &a, 0, 0);
        image::imageops::overlay(&mut two, &b, i64::from(a.width()), 0);
        let e = decode_image(&png(&two)).unwrap_err().to_string();
        assert!(e.contains("2 QR codes"), "{e}");
        // the same code twice is one request: nothing is ambiguous
        let mut same = image::GrayImage::from_pixel(2 * a.width(), a.height(), image::Luma([255]));
        image::imageops::overlay(&mut same, &a, 0, 0);
        image::imageops::overlay(&mut same, &a, i64::from(a.width()), 0);
        assert_eq!(decode_image(&png(&same)).unwrap(), URI);
        // more candidate grids than MAX_GRIDS (16 copies give 8): refused before any is decoded
        let mut many =
            image::GrayImage::from_pixel(4 * a.width(), 4 * a.height(), image::Luma([255]));
        for i in 0..16u32 {
            let (x, y) = (i % 4 * a.width(), i / 4 * a.height());
            image::imageops::overlay(&mut many, &a, i64::from(x), i64::from(y));
        }
        let e = decode_image(&png(&many)).unwrap_err().to_string();
        assert!(e.contains("QR-like patterns in the image"), "{e}");
        // truncated PNG
        let full = render_png(URI).unwrap();
        assert!(decode_image(&full[..full.len() / 2])
            .unwrap_err()
            .to_string()
            .contains("unreadable"));
        assert!(decode_image(b"").is_err());
        // 20000 x 20000: refused from the header (IHDR with a valid CRC), nothing allocated
        let mut hdr = full.clone();
        hdr[16..20].copy_from_slice(&20000u32.to_be_bytes());
        hdr[20..24].copy_from_slice(&20000u32.to_be_bytes());
        let crc = crc32(&hdr[12..29]);
        hdr[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = decode_image(&hdr).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
    }

    /// Row 38: millions of rectangles, overflowing coordinates, overlapping rectangles.
    #[test]
    fn hostile_svgs_are_refused_quickly() {
        let svg = |d: &str| {
            format!(
                "<?xml version=\"1.0\"?><svg width=\"1000\" height=\"1000\"><path d=\"{d}\"/></svg>"
            )
        };
        let many = "M1 1h1v1H1V1".repeat(2_000_000);
        let e = decode_svg(&svg(&many)).unwrap_err().to_string();
        assert!(e.contains("rectangles"), "{e}");
        let e = decode_svg(&svg("M4294967295 0h10v10H0V0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside"), "{e}");
        let e = decode_svg(&svg("M990 0h20v10H0V0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside"), "{e}");
        let overlapping = "M0 0h1000v1000H0V0".repeat(3);
        let e = decode_svg(&svg(&overlapping)).unwrap_err().to_string();
        assert!(e.contains("overlap"), "{e}");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for b in bytes {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
}
