//! `zkpay`: the zkpay wallet command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rand::rngs::OsRng;
use std::time::Instant;
use zkpay_protocol::address::Network;
use zkpay_protocol::encryption::{encrypt_note, try_open_note};
use zkpay_protocol::field::fe_to_hex;
use zkpay_protocol::keys::SpendingKey;
use zkpay_protocol::merkle::{NoteTree, FULL_DEPTH};
use zkpay_protocol::note::{Asset, Note};
use zkpay_protocol::uri::PaymentRequest;

#[derive(Parser)]
#[command(name = "zkpay", version, about = "zkpay shielded wallet")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Walk through the protocol: keys, address, note, commitment, nullifier, invoice QR.
    Demo,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => demo(),
    }
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t = Instant::now();
    let v = f().with_context(|| format!("step {name:?} failed"))?;
    println!("  ✓ {name} ({:.1} ms)", t.elapsed().as_secs_f64() * 1e3);
    Ok(v)
}

fn demo() -> Result<()> {
    let network = Network::Dev;
    println!("zkpay protocol demo (network {network})\n");
    let mut rng = OsRng;
    let (merchant, customer) = step("generate merchant and customer spending keys", || {
        Ok((SpendingKey::random(&mut rng), SpendingKey::random(&mut rng)))
    })?;
    let mfvk = merchant.full_viewing_key();
    let maddr = merchant.address(network);
    println!("    merchant address: {maddr}");
    println!("    customer address: {}", customer.address(network));
    let usd = Asset::from_text("USD")?;
    let request = step("merchant issues an invoice", || {
        let mut r = PaymentRequest::new(maddr, usd.clone(), Some(1250));
        r.invoice = Some(b"order-1042".to_vec());
        r.label = Some("Corner Café".into());
        r.message = Some("2 flat whites".into());
        Ok(r)
    })?;
    let uri = request.to_uri();
    println!("    payment request URI:\n    {uri}\n");
    println!("{}", zkpay_wallet::qr::render_terminal(&uri)?);
    let parsed = step("customer scans and parses the request", || {
        Ok(PaymentRequest::parse_for(&uri, network)?)
    })?;
    let tag = parsed.invoice_tag().context("request has an invoice")?;
    println!("    invoice tag: {}", fe_to_hex(&tag));
    let note = step("customer creates the merchant's note", || {
        Ok(Note::new(
            usd.id(),
            parsed.amount.unwrap_or(0),
            parsed.address.pk,
            &mut rng,
        ))
    })?;
    let cm = note.commitment();
    println!("    note commitment: {cm}");
    let ct = step(
        "encrypt the note to the merchant (x25519 + ChaCha20-Poly1305)",
        || {
            Ok(encrypt_note(
                &note,
                b"thanks!",
                &parsed.address.tk,
                &mut rng,
            )?)
        },
    )?;
    println!("    ciphertext: {} bytes", ct.len());
    let mut tree = NoteTree::new(FULL_DEPTH)?;
    let pos = step("append the commitment to a 2^32-leaf note tree", || {
        Ok(tree.append(cm.0)?)
    })?;
    println!("    position {pos}, root {}", fe_to_hex(&tree.root()));
    let (found, memo) = step(
        "merchant's watch-only key finds the note by trial decryption",
        || try_open_note(&mfvk.ivk, &mfvk.pk, &cm, &ct).context("note not found"),
    )?;
    println!(
        "    found {} {} with memo {:?}",
        zkpay_protocol::uri::format_amount(found.value, usd.decimals),
        usd.symbol,
        String::from_utf8_lossy(&memo)
    );
    let nf = found.nullifier(&mfvk.nk, pos);
    println!("    nullifier when spent: {nf}");
    println!("\nok: proofs, the node and the ledger join this flow as they land.");
    Ok(())
}
