//! zkpay wallet: keys, sync, QR payment requests, pay, receipts
